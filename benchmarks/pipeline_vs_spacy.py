"""Benchmark: the whole `newsbeam ingest` against bare spaCy `nlp.pipe` on the same texts with the same model.

Both run as child processes of this script, one after the other in the same run, so wall time and
memory are measured the same way (see `_measure.py`). The ratio is what we track; the machine's load average
is recorded with each run because the absolute numbers depend on what else is running.

The bare run is the floor: it reads the strings the pipeline's NER would read (title and text as cleaned by
newsbeam, joined as `text.title_and_text` joins them, in the handler's `max_chars` pieces), loads the pipeline that
`newsbeam models` names for English with the components the handler excludes left out, and runs `nlp.pipe`
with the handler's batch size. Its wall time includes interpreter start, imports and model load, as the
pipeline's does.

    python benchmarks/pipeline_vs_spacy.py /work/shared/data/corpora/reuters21578.jsonl --articles 3000 \
        [--beam-arg=--direct_num_workers=2 --beam-arg=--direct_running_mode=multi_processing]
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _measure import pipeline_fields, record_result, run_child, run_ingest, take_articles, without_output  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
BARE_SPACY = """
import json, sys, time
started = time.perf_counter()
from newsbeam.transforms.enrich.registry import ModelRegistry, parse_overrides
from newsbeam.transforms.enrich.ner import _NOT_NEEDED, SpacyNERModelHandler
spec = ModelRegistry(parse_overrides(sys.argv[2:])).resolve("en")
handler = SpacyNERModelHandler({})
nlp = spec.load(exclude=_NOT_NEEDED)
loaded = time.perf_counter()
texts = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
entities = sum(len(doc.ents) for doc in nlp.pipe(texts, batch_size=handler._batch_size))
print(json.dumps({"model": spec.label, "load_seconds": loaded - started, "pipe_seconds": time.perf_counter() - loaded,
                  "entities": entities, "texts": len(texts), "characters": sum(map(len, texts))}))
"""


def ner_texts(subset: pathlib.Path, target: pathlib.Path) -> int:
    """What the pipeline's NER reads for each article, one JSON string per line."""
    from newsbeam.transforms.enrich.ner import SpacyNERModelHandler, text_pieces
    from newsbeam.transforms.normalise.text import clean_text, single_line, title_and_text

    max_chars = SpacyNERModelHandler({})._max_chars
    count = 0
    with open(subset, encoding="utf-8") as source, open(target, "w", encoding="utf-8") as out:
        for line in source:
            article = json.loads(line)
            text = title_and_text({"title": single_line(article.get("title")), "text": clean_text(article["text"])})
            for _, piece in text_pieces(text, max_chars):
                out.write(json.dumps(piece) + "\n")
                count += 1
    return count


def dataset_facts(output: pathlib.Path) -> dict:
    import pyarrow.dataset as ds

    table = ds.dataset(str(output / "articles"), format="parquet", partitioning="hive").to_table(
        columns=["language", "ner_model", "entities"]
    )
    rows = table.to_pylist()
    return {
        "rows": len(rows),
        "rows_with_ner": sum(1 for r in rows if r["ner_model"]),
        "entities": sum(len(r["entities"]) for r in rows),
        "languages": {lang: sum(1 for r in rows if r["language"] == lang) for lang in sorted({r["language"] for r in rows})},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", help="JSON Lines corpus (e.g. reuters21578.jsonl)")
    parser.add_argument("--articles", type=int, default=1000, help="first N articles")
    parser.add_argument("--beam-arg", action="append", default=[], help="extra Beam option for the pipeline run")
    parser.add_argument("--ner-model", action="append", default=[], metavar="LANG=MODEL",
                        help="passed to both runs (default: what `newsbeam models` resolves)")
    parser.add_argument("--label", default="", help="free text stored with the result")
    parser.add_argument("--results", default=str(HERE / "results" / "pipeline_vs_spacy.jsonl"), help="append results here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as work:
        subset = take_articles(args.corpus, args.articles, pathlib.Path(work) / "corpus.jsonl")
        texts = pathlib.Path(work) / "texts.jsonl"
        ner_texts(subset, texts)
        bare_run = run_child([sys.executable, "-c", BARE_SPACY, str(texts), *args.ner_model])
        bare = json.loads(bare_run["stdout"])
        output = pathlib.Path(work) / "out"
        pipe_run, summary = run_ingest(subset, output, args.ner_model, args.beam_arg)
        facts = dataset_facts(output)

    result = record_result(args.results, "pipeline_vs_spacy", {
        "label": args.label,
        "articles": args.articles,
        "beam_args": args.beam_arg,
        "model": bare["model"],
        "bare_spacy": {**without_output(bare_run), **{k: round(v, 2) if isinstance(v, float) else v for k, v in bare.items()}},
        "pipeline": {**pipeline_fields(pipe_run, summary), **facts},
        "ratio_wall": round(pipe_run["seconds"] / bare_run["seconds"], 3),
        "ratio_peak_tree_pss": round(pipe_run["peak_tree_pss_mib"] / bare_run["peak_tree_pss_mib"], 3),
    })
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
