"""News conventions on predicted entities: demonyms MISC, seats of government ORG, no span over a sentence end."""

import apache_beam as beam
import pytest
import spacy
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that

from newsbeam.pipelines.runner import OfflineDirectRunner
from newsbeam.transforms.enrich import registry as reg
from newsbeam.transforms.enrich.conventions import conform
from newsbeam.transforms.enrich.gazetteer import load_gazetteer
from newsbeam.transforms.enrich.ner import ExtractEntities


def _doc(words, ents, spaces=None):
    """A Doc with the given (start, end, label) token entities, as a model might have predicted them."""
    nlp = spacy.blank("xx")
    doc = spacy.tokens.Doc(nlp.vocab, words=words, spaces=spaces)
    doc.ents = [spacy.tokens.Span(doc, start, end, label=label) for start, end, label in ents]
    return doc


def _pairs(spans):
    return [(span.text, span.label_) for span in spans]


def test_a_demonym_tagged_as_a_place_becomes_misc_and_an_untagged_one_is_added():
    doc = _doc(["De", "Britse", "regering", "en", "de", "Russen", "vochten", "met", "Oekraïense", "troepen", "."],
               [(1, 2, "LOC"), (5, 6, "LOC")])
    assert _pairs(conform(doc, "nl")) == [("Britse", "MISC"), ("Russen", "MISC"), ("Oekraïense", "MISC")]


def test_lists_are_per_language():
    # German "Japans" is the genitive of Japan, a place; Dutch "Japans" is an adjective.
    doc = _doc(["Die", "Küste", "Japans", "."], [(2, 3, "LOC")])
    assert _pairs(conform(doc, "de")) == [("Japans", "LOC")]
    assert _pairs(conform(doc, "nl")) == [("Japans", "MISC")]


def test_a_demonym_inside_a_longer_name_keeps_the_name():
    doc = _doc(["Het", "Russische", "ministerie", "van", "Defensie", "meldt", "."], [(1, 5, "ORG")])
    assert _pairs(conform(doc, "nl")) == [("Russische ministerie van Defensie", "ORG")]


@pytest.mark.parametrize("language, words, seat", [
    ("nl", ["Het", "Kremlin", "ontkent", "."], "Kremlin"),
    ("en", ["The", "White", "House", "said", "so", "."], "White House"),
    ("de", ["Das", "Weiße", "Haus", "schweigt", "."], "Weiße Haus"),
])  # fmt: skip
def test_a_seat_of_government_is_an_organisation_tagged_or_not(language, words, seat):
    n = len(seat.split())
    assert _pairs(conform(_doc(words, [(1, 1 + n, "LOC")]), language)) == [(seat, "ORG")]
    assert _pairs(conform(_doc(words, []), language)) == [(seat, "ORG")]


def test_a_span_is_cut_at_a_sentence_end_and_trimmed_of_function_words():
    words = ["Dat", "zegt", "Dick", "Zandee", "van", "het", "Clingendael", "-", "instituut", ".", "“", "Er", "is",
             "paniek", "."]
    spaces = [True, True, True, True, True, True, False, False, False, True, False, True, True, False, False]
    doc = _doc(words, [(2, 6, "PER"), (6, 12, "ORG")], spaces)
    assert _pairs(conform(doc, "nl")) == [("Dick Zandee", "PER"), ("Clingendael-instituut", "ORG")]


def test_abbreviations_initials_and_brackets_opened_inside_stay():
    doc = _doc(["Hij", "werkt", "bij", "de", "U.S.", "Army", "(", "USA", ")", "."], [(4, 9, "ORG")])
    assert _pairs(conform(doc, "en")) == [("U.S. Army ( USA )", "ORG")]
    doc = _doc(["Jhr", ".", "P", ".", "van", "der", "Wijck", "geb", ".", "Robben", "."], [(0, 10, "PER")])
    assert _pairs(conform(doc, "nl")) == [("Jhr . P . van der Wijck geb . Robben", "PER")]


def test_a_span_is_cut_after_a_lower_case_word_that_ends_a_sentence():
    doc = _doc(["Het", "Clingendael", "-", "instituut", ".", "Volgens", "hem"], [(1, 6, "ORG")],
               [True, False, False, False, True, True, False])
    assert _pairs(conform(doc, "nl")) == [("Clingendael-instituut", "ORG")]


def test_a_language_without_lists_only_has_its_spans_cut_and_trimmed():
    doc = _doc(["Los", "rusos", "y", "la", "Casa", "Blanca", ".", "“", "Luego"], [(4, 9, "LOC")])
    assert _pairs(conform(doc, "es")) == [("Casa Blanca", "LOC")]


def test_an_untagged_country_name_becomes_a_place():
    is_country = load_gazetteer().names_only_a_country
    doc = _doc(["In", "the", "United", "States", "and", "in", "Georgia", ",", "Jordan", "said", "."], [(8, 9, "PER")])
    # "Georgia" is also a US state; "Jordan" is tagged PER by the model and stays so.
    assert _pairs(conform(doc, "en", is_country)) == [("United States", "LOC"), ("Jordan", "PER")]
    assert _pairs(conform(doc, "en")) == [("Jordan", "PER")]
    doc = _doc(["zou", "Oekraïne", "de", "Russische", "troepen", "hebben", "verdreven", "uit", "oekraïne"], [])
    assert _pairs(conform(doc, "nl", is_country)) == [("Oekraïne", "LOC"), ("Russische", "MISC")]


def test_an_untagged_name_after_a_title_is_a_person_without_the_title():
    doc = _doc(["De", "heer", "Mr", ".", "Van", "Hall", "en", "premier", "Rutte", "spraken", "met", "Britse",
                "diplomaten", "."], [])
    assert _pairs(conform(doc, "nl")) == [("Van Hall", "PER"), ("Rutte", "PER"), ("Britse", "MISC")]
    doc = _doc(["M.", "Macron", "a", "sauté", "2,31", "m", "Dimanche", "."], [])
    assert _pairs(conform(doc, "fr")) == [("Macron", "PER")]  # the unit "m" is no title


def test_a_title_leaves_a_tagged_name_and_words_that_are_no_title_alone():
    doc = _doc(["President", "Joe", "Biden", "and", "the", "Premier", "League", "."], [(1, 3, "PER")])
    assert _pairs(conform(doc, "en")) == [("Joe Biden", "PER")]
    doc = _doc(["Bundeskanzlerin", "Angela", "Merkel", "Kohl", "Schröder", "sprach", "."], [])
    assert _pairs(conform(doc, "de")) == [("Angela Merkel Kohl", "PER")]  # three words at most


def test_a_demonym_that_also_names_a_country_is_written_once():
    # "Swiss" is an English demonym and, in the gazetteer, a name of Switzerland only.
    doc = _doc(["Swiss", "banks", "said", "so", "."], [])
    assert _pairs(conform(doc, "en", load_gazetteer().names_only_a_country)) == [("Swiss", "MISC")]


def test_newsbeam_writes_conformed_entities_with_the_bundled_model():
    """The bundled model tags Kremlin and Britse LOC and runs a span past a name; the rows do not."""
    models = {"nl": reg.ModelRegistry().resolve("nl")}
    assert models["nl"].name == reg.BUNDLED_NAME
    text = ("Dat zegt Dick Zandee van het Clingendael-instituut. “Er is paniek in het Kremlin,” zegt hij. "
            "Het Kremlin ontkent. De Britse premier en de Russen zwijgen. "
            "Op sommige plekken zou Oekraïne de Russische troepen hebben teruggedrongen.")
    raw = {(e.text, e.label_) for e in models["nl"].load()(text).ents}
    assert {("Kremlin", "LOC"), ("Britse", "LOC"), ("Dick Zandee van het", "PER")} <= raw  # the model alone
    assert ("Oekraïne", "LOC") not in raw

    def check(rows):
        (row,) = rows
        found = {(e["text"], e["label"]) for e in row["entities"]}
        assert {("Kremlin", "ORG"), ("Britse", "MISC"), ("Russen", "MISC"), ("Dick Zandee", "PER"),
                ("Clingendael-instituut", "ORG"), ("Oekraïne", "LOC")} <= found, found
        assert {text for text, label in found if label == "LOC"} == {"Oekraïne"}, found
        for e in row["entities"]:
            assert text[e["start"] : e["end"]] == e["text"]

    with TestPipeline(runner=OfflineDirectRunner()) as p:
        rows = (p | beam.Create([{"id": "1", "language": "nl", "title": None, "text": text, "source": "t"}])
                | ExtractEntities(models))  # fmt: skip
        assert_that(rows["articles"], check)
