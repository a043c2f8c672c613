"""The shipped offline NER model and `newsbeam models`: what a fresh install gets without any download."""

import json
import socket

import pytest

from newsbeam.cli import main
from newsbeam.transforms.enrich import registry as reg
from newsbeam.transforms.enrich.conventions import VERSION as CONVENTIONS_VERSION

SENTENCES = {
    "nl": ("Minister Mark Rutte sprak in Den Haag met de directie van Philips.", {("Mark Rutte", "PER"), ("Den Haag", "LOC")}),
    "en": ("Angela Merkel met executives of Siemens in Berlin on Monday.", {("Angela Merkel", "PER"), ("Berlin", "LOC")}),
    "fr": ("Emmanuel Macron a visité Marseille avec des dirigeants de Renault.", {("Emmanuel Macron", "PER"), ("Marseille", "LOC")}),
    "de": ("Olaf Scholz traf in München Vertreter von Volkswagen.", {("Olaf Scholz", "PER"), ("München", "LOC")}),
}


@pytest.fixture(scope="module")
def shipped_nlp():
    spec = reg.bundled()
    assert spec is not None, "the package must ship newsbeam/models/xx_newsbeam_ner"
    return spec.load()


def test_shipped_model_is_small_and_labelled(shipped_nlp):
    size = sum(p.stat().st_size for p in reg.BUNDLED_PATH.rglob("*") if p.is_file())
    assert size < 30 * 1024 * 1024
    assert set(shipped_nlp.get_pipe("ner").labels) >= {"PER", "ORG", "LOC"}


@pytest.mark.parametrize("language", sorted(SENTENCES))
def test_shipped_model_finds_entities_offline(shipped_nlp, language, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("the model tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    text, expected = SENTENCES[language]
    found = {(ent.text, ent.label_) for ent in shipped_nlp(text).ents}
    assert expected <= found, found


def test_models_json_lists_each_language(capsys, shipped_nlp):
    assert main(["models", "--json", "--ner-model", "de=none"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert listing["nl"]["name"] == "newsbeam_ner" and listing["nl"]["path"] == str(reg.BUNDLED_PATH)
    assert listing["nl"]["labels"] == sorted(shipped_nlp.get_pipe("ner").labels)
    # Rows carry MISC (demonyms) and ORG (seats of government) under the news conventions whatever the model has.
    assert listing["nl"]["labels_written"] == ["LOC", "MISC", "ORG", "PER"]
    # What the rows' ner_model column will say, and the pipeline's own account of itself.
    assert listing["nl"]["ner_model"] == f"newsbeam_ner-{shipped_nlp.meta['version']}+{CONVENTIONS_VERSION}"
    assert "MISC" in listing["nl"]["description"] and listing["fr"]["description"]
    assert listing["fr"]["name"] == "fr_core_news_sm"  # an official pipeline wins when installed
    assert listing["fr"]["labels"] == ["LOC", "MISC", "ORG", "PER"]
    assert listing["de"] is None
    assert main(["models", "--ner-model", "nl=not_installed_model"]) == 2
