"""`newsbeam report` on a real ingested dataset and on synthetic ones, checked in a real headless browser."""

import datetime as dt
import html.parser
import os
import pathlib
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from headless_browser import INSTALL_HINT, chromium_path, dump_dom, screenshot

import newsbeam
from newsbeam.cli import main
from newsbeam.schemas import ARTICLE_SCHEMA

SAMPLES = pathlib.Path(newsbeam.__file__).parent / "data" / "samples"
ARTIFACTS = pathlib.Path(__file__).resolve().parent.parent / "build" / "test-artifacts"
SAMPLE_CHARTS = {"articles-by-language", "articles-by-source", "entities-nl", "entities-en", "entities-fr",
                 "entities-de", "tone-by-language", "tone-by-source", "errors-by-reason", "runs-written",
                 "runs-duration", "freshness"}  # fmt: skip


class _Page(html.parser.HTMLParser):
    """The attributes a rendered report exposes: <html>'s, each chart figure's, and any external references."""

    def __init__(self):
        super().__init__()
        self.root: dict = {}
        self.charts: dict[str, dict] = {}
        self.external: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "html":
            self.root = attributes
        if tag == "figure" and "chart" in (attributes.get("class") or "").split():
            self.charts[attributes["data-chart"]] = attributes
        if tag in ("script", "img", "iframe") and attributes.get("src") or tag == "link":
            self.external.append(f"<{tag} {attributes}>")


def _parse(markup: str) -> _Page:
    page = _Page()
    page.feed(markup)
    return page


def _require_chromium():
    if chromium_path() is None:
        pytest.fail(INSTALL_HINT)


def _rendered(report: pathlib.Path) -> _Page:
    """The report as Chromium left it after its scripts ran; fails on script errors or undrawn charts."""
    _require_chromium()
    page = _parse(dump_dom(report))
    assert page.root.get("data-checked") == "yes", "the page's script did not run"
    assert not page.root.get("data-script-errors"), page.root.get("data-script-errors")
    undrawn = {key: attrs for key, attrs in page.charts.items() if attrs.get("data-rendered") != "yes"}
    assert not undrawn, undrawn
    return page


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """The bundled samples ingested for real, plus a file of broken JSON lines (dead letters), in two runs."""
    root = tmp_path_factory.mktemp("report")
    broken = root / "broken"
    broken.mkdir()
    (broken / "wire.jsonl").write_text('{"text": "no closing brace"\n{not json either}\n', encoding="utf-8")
    output = root / "out"
    assert main(["ingest", "--source", str(SAMPLES), "--output", str(output), "--run-id", "samples"]) == 0
    assert main(["ingest", "--source", str(broken), "--output", str(output), "--run-id", "broken"]) == 0
    return output


def test_html_report_renders_every_chart_in_chromium(dataset, tmp_path, capsys):
    report = tmp_path / "report.html"
    assert main(["report", str(dataset), "--output", str(report)]) == 0
    assert "report of 9 articles written to" in capsys.readouterr().err
    markup = report.read_text(encoding="utf-8")
    assert not _parse(markup).external, "the page must be self-contained"
    page = _rendered(report)
    assert SAMPLE_CHARTS <= set(page.charts), sorted(page.charts)
    assert int(page.charts["articles-by-language"]["data-marks"]) == 8  # (day, language) pairs of the 9 articles
    assert int(page.charts["runs-written"]["data-marks"]) == 2  # written by the first run, failures of the second
    for text in ("Rijkswaterstaat", "bad_json", "wire.jsonl", "Places mentioned", "articles per day",
                 "publication day (UTC)", "mean sentiment (-1 to 1)", "duration (s)"):  # fmt: skip
        assert text in markup, text
    png = screenshot(report, tmp_path / "report.png")
    assert png.stat().st_size > 50_000  # a blank page compresses to a few kB
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    kept = shutil.copy(png, ARTIFACTS / "report.png")
    print(f"report screenshot: {kept}")


def test_text_report_prints_key_figures(dataset, capsys):
    assert main(["report", str(dataset), "--format", "text"]) == 0
    out = capsys.readouterr().out
    assert "articles: 9 in 4 languages from 4 sources, published 2023-03-01 to 2023-03-17" in out
    assert "by language: en 3 (33 %), fr 3 (33 %), de 2 (22 %), nl 1 (11 %)" in out
    assert "top entities nl: Rijkswaterstaat (ORG) 2" in out
    assert "dead letters: 2" in out and "by reason: bad_json 2" in out
    assert "runs: 2" in out and "last run broken" in out


def test_selection_by_days_and_language(dataset, capsys):
    assert main(["report", str(dataset), "--format", "text", "--lang", "en,fr", "--since", "2023-03-15",
                 "--until", "2023-03-17"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "articles: 4 in 2 languages from 2 sources, published 2023-03-15 to 2023-03-16" in out
    assert "de " not in out.split("by language:")[1].splitlines()[0]


def test_hidden_and_temporary_files_are_not_read(dataset, tmp_path, capsys):
    copy = tmp_path / "copy"
    shutil.copytree(dataset, copy)
    partition = next((copy / "articles").glob("date=*/lang=nl"))
    (partition / ".tmp-part-x.parquet").write_bytes(b"half a file")
    (partition / "_staged.parquet").write_bytes(b"not parquet")
    hidden = copy / "articles" / "_scratch" / "lang=nl"
    hidden.mkdir(parents=True)
    shutil.copy(next(partition.glob("part-*.parquet")), hidden / "part-copy.parquet")
    (copy / "_runs" / ".counts-x.json").write_text("{", encoding="utf-8")
    assert main(["report", str(copy), "--format", "text"]) == 0
    assert "articles: 9 in 4 languages" in capsys.readouterr().out


def _synthetic_article(i: int, day: dt.datetime) -> dict:
    return {
        "id": f"a{i}", "url": None, "source": f"https://feeds.example.org/{i % 3}.xml", "source_type": "feed",
        "source_name": f"feed {i % 3}", "feed_title": None, "title": f"t{i}", "text": "x", "authors": [],
        "published_at": day, "published_precision": "minute", "published_raw": None, "language": "en",
        "language_confidence": 0.9, "entities": [{"text": "Amsterdam", "label": "LOC", "start": 0, "end": 9, "field": "text"}],
        "sentiment": 0.1 * (i % 5) - 0.2, "sentiment_label": "neutral", "sentiment_method": "vader",
        "content_hash": f"h{i}", "ingested_at": day + dt.timedelta(hours=i % 30), "run_id": "r",
        "ner_model": None, "schema_version": "1.0",
    }  # fmt: skip


def _schema_1_0() -> pa.Schema:
    """The articles schema before sentiment shares and places (1.0)."""
    newer = ("places", "countries", "sentiment_negative_share", "sentiment_positive_share")
    fields = [field for field in ARTICLE_SCHEMA if field.name not in newer]
    entity = ARTICLE_SCHEMA.field("entities").type.value_type
    old_entity = pa.struct([f for f in entity if f.name != "place_id"])
    return pa.schema([f.with_type(pa.list_(old_entity)) if f.name == "entities" else f for f in fields])


def test_places_with_coordinates_are_drawn_on_a_world_map(tmp_path, capsys):
    """A dataset whose articles carry `places` (with coordinates) and `sentiment_negative_share`."""
    schema = ARTICLE_SCHEMA
    cities = [("Amsterdam", 52.37, 4.90, "NL", 2759794), ("Lagos", 6.52, 3.38, "NG", 2332459),
              ("Lima", -12.05, -77.04, "PE", 3936456)]  # fmt: skip
    for day_number in range(3):
        day = dt.datetime(2024, 5, 1 + day_number, 6, tzinfo=dt.timezone.utc)
        rows = [_synthetic_article(10 * day_number + i, day) for i in range(10)]
        for i, row in enumerate(rows):
            name, lat, lon, country, geonames_id = cities[i % 3]
            row["places"] = [{"geonames_id": geonames_id, "name": name, "country_code": country, "feature": "city",
                              "latitude": lat, "longitude": lon, "mentions": 1}]  # fmt: skip
            row["sentiment_negative_share"] = 0.1 * (i % 4)
        folder = tmp_path / "out" / "articles" / f"date={day:%Y-%m-%d}" / "lang=en"
        folder.mkdir(parents=True)
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), folder / "part-r-00000.parquet")
    report = tmp_path / "report.html"
    assert main(["report", str(tmp_path / "out"), "--output", str(report)]) == 0
    page = _rendered(report)
    assert int(page.charts["places-map"]["data-marks"]) == 3
    assert "negative-share" in page.charts
    assert "Lagos: 9 mentions (6.52°, 3.38°)" in report.read_text(encoding="utf-8")
    assert main(["report", str(tmp_path / "out"), "--format", "text"]) == 0
    assert "top places (places): Amsterdam 12, Lagos 9, Lima 9" in capsys.readouterr().out


def test_older_and_newer_files_side_by_side(tmp_path, capsys):
    """Files written before and after a column was added are read together (missing values as nulls)."""
    plain_day = dt.datetime(2024, 5, 1, 6, tzinfo=dt.timezone.utc)
    folder = tmp_path / "out" / "articles" / "date=2024-05-01" / "lang=en"
    folder.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist([_synthetic_article(1, plain_day)], schema=_schema_1_0()), folder / "part-a-00000.parquet")
    row = {**_synthetic_article(2, plain_day), "sentiment_negative_share": 0.5}
    pq.write_table(pa.Table.from_pylist([row], schema=ARTICLE_SCHEMA), folder / "part-b-00000.parquet")
    assert main(["report", str(tmp_path / "out"), "--format", "text"]) == 0
    assert "articles: 2 in 1 language from 2 sources" in capsys.readouterr().out


def test_dataset_without_articles_and_missing_folder(tmp_path, capsys):
    (tmp_path / "out" / "_runs").mkdir(parents=True)
    report = tmp_path / "report.html"
    assert main(["report", str(tmp_path / "out"), "--output", str(report)]) == 0
    assert "No articles in this selection." in report.read_text(encoding="utf-8")
    assert main(["report", str(tmp_path / "nowhere")]) == 2
    assert "not a newsbeam dataset" in capsys.readouterr().err
