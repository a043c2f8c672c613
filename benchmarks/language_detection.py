"""Language detection on short texts: accuracy by length bucket, throughput, build time and memory per detector.

Texts are WikiANN test sentences (token-per-line files, `xx:` prefix per token, blank line between sentences)
rebuilt by joining tokens, a seeded sample per language. `und` counts as wrong. langdetect is optional
(`pip install langdetect==1.0.9`); it is a comparison only, not a newsbeam dependency.

    python benchmarks/language_detection.py /work/shared/data/ner/wikiann --per-language 500 --seed 0 \
        --output benchmarks/results/language_detection.md

`--output` rewrites the tables and keeps the text above them. Each detector runs in a fresh process.
"""

from __future__ import annotations

import argparse
import importlib.util
import multiprocessing
import pathlib
import random
import re
import sys
import time
from collections import defaultdict
from collections.abc import Callable

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from newsbeam.transforms.normalise.language import CORE_LANGUAGES, LanguageDetector  # noqa: E402

BUCKETS = ((0, 20, "<20"), (20, 50, "20-50"), (50, 100, "50-100"), (100, 10**9, ">100"))
_SPACE_BEFORE_PUNCT = re.compile(r" ([.,;:!?)\]}%])")
_SPACE_AFTER_OPEN = re.compile(r"([(\[{]) ")


def read_sentences(path: pathlib.Path) -> list[str]:
    """Sentences of one WikiANN split: tokens (without their `xx:` prefix) joined by spaces, punctuation re-attached."""
    sentences, tokens = [], []
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        if not line.strip():
            if tokens:
                text = _SPACE_AFTER_OPEN.sub(r"\1", _SPACE_BEFORE_PUNCT.sub(r"\1", " ".join(tokens)))
                sentences.append(text)
            tokens = []
            continue
        token = line.split("\t")[0].split(" ")[0]
        tokens.append(token.split(":", 1)[1] if ":" in token[:4] else token)
    return sentences


def bucket_of(text: str) -> str:
    return next(name for low, high, name in BUCKETS if low <= len(text) < high)


def rss_mb() -> float:
    for line in pathlib.Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def make_detector(kind: str, options: dict) -> Callable[..., str]:
    """A `detect(text, hint=None) -> code` function, fully loaded."""
    if kind == "lingua":
        detector = LanguageDetector(**options)
        detector.load()
        return lambda text, hint=None: detector.detect(text, hint)[0]
    import langdetect
    from langdetect.lang_detect_exception import LangDetectException

    langdetect.DetectorFactory.seed = 0
    langdetect.detect("warm up: loads the profiles")

    def detect(text: str, hint: str | None = None) -> str:
        try:
            return langdetect.detect(text).split("-")[0]
        except LangDetectException:
            return "und"

    return detect


def run(name: str, kind: str, options: dict, samples: dict[str, list[str]], articles: list[str], hints: bool) -> dict:
    """One detector, measured in a fresh process (lingua caches its models process-wide)."""
    before, start = rss_mb(), time.perf_counter()
    detect = make_detector(kind, options)
    result = {"name": name, "build_s": time.perf_counter() - start, "rss_mb": rss_mb() - before}
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    n = undetermined = 0
    start = time.perf_counter()
    for language, texts in samples.items():
        for text in texts:
            got = detect(text)
            undetermined += got == "und"
            for key in ((language, bucket_of(text)), (language, "all"), ("all", bucket_of(text)), ("all", "all")):
                counts[key][0] += got == language
                counts[key][1] += 1
            n += 1
    result["short_per_s"] = n / (time.perf_counter() - start)
    result["und"] = undetermined / n
    result["precision"] = counts[("all", "all")][0] / max(1, n - undetermined)
    result["counts"] = dict(counts)
    start = time.perf_counter()
    for text in articles:
        detect(text)
    result["article_per_s"] = len(articles) / (time.perf_counter() - start)
    if hints:
        # A right hint (the true language) and a wrong one (en for others, nl for en) on the same texts.
        for kind in ("right", "wrong"):
            ok = total = 0
            for language, texts in samples.items():
                hint = language if kind == "right" else ("nl" if language == "en" else "en")
                ok += sum(detect(text, hint) == language for text in texts)
                total += len(texts)
            result[f"hint_{kind}"] = ok / total
    return result


def pct(ok_total: list[int] | None) -> str:
    return f"{100 * ok_total[0] / ok_total[1]:.1f} ({ok_total[1]})" if ok_total and ok_total[1] else "-"


def report(results: list[dict], languages: list[str], command: str) -> str:
    lines = [f"Command: `{command}`", ""]
    header = ["detector"] + [name for _, _, name in BUCKETS] + ["all"]
    for language in languages + ["all"]:
        lines += [f"## Accuracy %, {language} (n)", "", "| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
        for r in results:
            cells = [pct(r["counts"].get((language, b))) for b in header[1:]]
            lines.append(f"| {r['name']} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += [
        "## Cost",
        "",
        "| detector | build s | RSS MB | short texts/s | ~2,000-char articles/s | `und` % | precision % when not `und` "
        "| acc. % right hint | acc. % wrong hint |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        hint = [f"{100 * r[k]:.1f}" if k in r else "-" for k in ("hint_right", "hint_wrong")]
        lines.append(
            f"| {r['name']} | {r['build_s']:.1f} | {r['rss_mb']:.0f} | {r['short_per_s']:.0f} | "
            f"{r['article_per_s']:.0f} | {100 * r['und']:.1f} | {100 * r['precision']:.1f} | {hint[0]} | {hint[1]} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=pathlib.Path, help="WikiANN root holding <lang>/test")
    parser.add_argument("--languages", default="nl,en,fr,de")
    parser.add_argument("--per-language", type=int, default=500)
    parser.add_argument("--articles", type=int, default=40, help="~2,000-char pseudo-articles for throughput")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=pathlib.Path, help="also write the markdown here")
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    languages = args.languages.split(",")
    samples, articles = {}, []
    for language in languages:
        sentences = read_sentences(args.data / language / "test")
        samples[language] = rng.sample(sentences, min(args.per_language, len(sentences)))
        for _ in range(max(1, args.articles // len(languages))):
            text = ""
            while len(text) < 2000:
                text += rng.choice(sentences) + " "
            articles.append(text)

    detectors = [
        ("lingua low, short or word-poor texts re-scored by high accuracy over the top 5 (newsbeam)", "lingua", {}, True),
        ("the same, top 3", "lingua", {"refine_candidates": 3}, False),
        ("lingua high, default 51 languages", "lingua", {"accurate_below": None}, True),
        ("lingua high, default 51, no `und` threshold", "lingua", {"accurate_below": None, "min_confidence": 0.0}, False),
        ("lingua low, default 51 languages", "lingua", {"low_accuracy": True}, True),
        ("lingua high, 20 core languages", "lingua", {"languages": CORE_LANGUAGES, "accurate_below": None}, False),
        ("lingua low, 20 core languages", "lingua", {"languages": CORE_LANGUAGES, "low_accuracy": True}, False),
    ]
    if importlib.util.find_spec("langdetect"):
        detectors.append(("langdetect 1.0.9 (55 languages)", "langdetect", {}, False))
    else:
        print("langdetect not installed: skipped", file=sys.stderr)
    results = []
    context = multiprocessing.get_context("spawn")
    for name, kind, options, hints in detectors:
        print(f"running {name}", file=sys.stderr, flush=True)
        with context.Pool(1) as pool:
            results.append(pool.apply(run, (name, kind, options, samples, articles, hints)))
    command = "python benchmarks/language_detection.py " + " ".join(argv if argv is not None else sys.argv[1:])
    markdown = report(results, languages, command)
    print(markdown)
    if args.output:
        # Keep a hand-written preamble (everything above the command line) of an existing results file.
        existing = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        preamble = existing[: existing.index("Command: `")] if "Command: `" in existing else ""
        args.output.write_text(preamble + markdown, encoding="utf-8")


if __name__ == "__main__":
    main()
