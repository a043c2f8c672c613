"""Prepare the corpus and train the NER pipeline, recording what went in.

Usage:
    python training/ner/train.py /work/shared/data/ner \
        [--config training/ner/config.cfg] [--output training/ner/output/run] \
        [--seed 0] [--skip-prepare] [--lang nl] [--paths.source ... other spacy train overrides]

Two stages build the shipped model (see EVALUATION.md for the exact commands):
stage 1 trains ``config.cfg`` from scratch on one doc per sentence; stage 2
fine-tunes its model-best with ``finetune.cfg`` on multi-sentence docs; the
stage-1 provenance is then nested under ``source_model``.

Runs ``prepare.py`` (unless ``--skip-prepare``), then ``spacy train`` with the
given config and seed, and writes ``provenance.json`` into the output folder:
sha256 of every source data file and of the prepared DocBins, the config's
sha256 and text, the seed, the git commit of the repo, the exact commands and
the training wall time.  The trained pipelines are ``<output>/model-best`` and
``<output>/model-last``; ``ship.py`` copies one into the package.

``--lang nl`` trains a monolingual model (per-language experiment): the corpus
is prepared with ``prepare.py --lang nl`` into ``corpus/nl/`` and
``--paths.train``/``--paths.dev`` default to ``corpus/nl/train.spacy`` and
``corpus/nl/dev.spacy`` (pass ``--paths.train .../train_grouped.spacy`` for
stage 2); use it with ``config_lang.cfg`` and ``finetune_lang.cfg``.

``--config training/ner/config_pretrain.cfg --paths.init_tok2vec
training/ner/output/pretrain/tok2vec/model6.bin`` (the override is passed on to
spacy train like any other) starts stage 1 from ``spacy pretrain`` weights; the
config must have a filled ``[pretraining]`` section (config.cfg's is empty, and
spaCy then ignores init_tok2vec silently).  The weights' path and sha256 are
recorded in ``provenance.json`` under ``init_tok2vec``.
"""
import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent


def sha256(path):
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def source_model(config_text, overrides):
    """The pipeline a fine-tuning config sources its components from, if any."""
    if "--paths.source" in overrides:
        path = overrides[overrides.index("--paths.source") + 1]
    else:
        match = re.search(r'^source = "(.+)"$', config_text, re.M)
        path = match and match[1]
    return (REPO / path).resolve() if path else None


ONE_THREAD = {v: "1" for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


def run(cmd):
    """Run a command from the repo root on one thread, echo it, fail loudly."""
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=REPO, check=True, env={**os.environ, **ONE_THREAD})


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir")
    parser.add_argument("--config", default=str(HERE / "config.cfg"))
    parser.add_argument("--output", default=str(HERE / "output" / "run"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-prepare", action="store_true")
    parser.add_argument("--lang", help="one language only: corpus/<lang>/ (prepare.py --lang)")
    parser.add_argument("--corpus", default=str(HERE / "corpus"),
                        help="folder of the prepared DocBins (hashed into provenance.json)")
    args, overrides = parser.parse_known_args()  # the rest go to spacy train
    data_dir, corpus = Path(args.data_dir).resolve(), Path(args.corpus).resolve()
    output = Path(args.output).resolve()
    commands = []
    if args.lang:
        corpus = corpus / args.lang
        for split in ("train", "dev"):
            if f"--paths.{split}" not in overrides:
                overrides += [f"--paths.{split}", str(corpus / f"{split}.spacy")]
    if not args.skip_prepare:
        commands.append([sys.executable, str(HERE / "prepare.py"), str(data_dir),
                         "--out", str(corpus)] + (["--lang", args.lang] if args.lang else []))
        run(commands[-1])
    commands.append([sys.executable, "-m", "spacy", "train", args.config,
                     "--output", str(output), "--system.seed", str(args.seed),
                     "--code", str(HERE / "news_tokenizer.py"), *overrides])
    started = time.time()
    run(commands[-1])
    seconds = time.time() - started
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO,
                            capture_output=True, text=True).stdout.strip()
    provenance = {
        "data": {str(p.relative_to(data_dir)): sha256(p)
                 for p in sorted(data_dir.rglob("*")) if p.is_file()},
        "corpus": {p.name: sha256(p) for p in sorted(corpus.glob("*.spacy"))},
        "config_sha256": sha256(args.config),
        "config": Path(args.config).read_text(encoding="utf-8"),
        "seed": args.seed,
        **({"lang": args.lang} if args.lang else {}),
        "git_commit": commit,
        "commands": [" ".join(c) for c in commands],
        "train_seconds": round(seconds),
        "threads": "OMP_NUM_THREADS=1 (one core)",
    }
    if "--paths.init_tok2vec" in overrides:  # pretrained tok2vec weights (spacy pretrain)
        weights = (REPO / overrides[overrides.index("--paths.init_tok2vec") + 1]).resolve()
        provenance["init_tok2vec"] = {"path": str(weights), "sha256": sha256(weights)}
    source = source_model(Path(args.config).read_text(encoding="utf-8"), overrides)
    if source and (source.parent / "provenance.json").exists():
        provenance["source_model"] = json.loads((source.parent / "provenance.json").read_text())
    (output / "provenance.json").write_text(json.dumps(provenance, indent=2),
                                            encoding="utf-8")
    print(f"trained in {seconds / 60:.1f} min; provenance in {output}/provenance.json")


if __name__ == "__main__":
    main()
