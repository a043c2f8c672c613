"""Every command and query in README.md, as written, against a real ingest of the bundled samples.

The code blocks are read from the README itself. The runnable ones run in a folder laid out like the
repository root (`newsbeam/data/samples` links to the samples), where the quick start's own ingest command
makes `out/`; the only substitution is the alerting block's `/data/news`, which becomes `out`. Blocks that
cannot run here (cron lines, systemd units, the Airflow DAG, a streaming run) are checked for syntax and
for options the command line accepts. A block that no test claims fails `test_every_block_is_claimed`.
"""

import ast
import configparser
import importlib.util
import os
import pathlib
import re
import shlex
import shutil
import subprocess
import sys

import duckdb
import pytest

from newsbeam import cli

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
FENCE = re.compile(r"^(```\w*\n)(.*?)^```", re.MULTILINE | re.DOTALL)

QUICK_START = "newsbeam ingest --source newsbeam/data/samples --output out"
# A text found in exactly one README block (its opening fence included), and what is done with that block.
CLAIMS = {
    QUICK_START: "run: its ingest makes out/ for the others",
    "out/\n  articles/": "not a command: a picture of the output",
    "newsbeam models [--json]": "synopsis: every option it names is accepted",
    "GROUP BY lang;": "run: each statement, with DuckDB, in the folder that holds out/",
    "unnest(places)": "run: each statement, with DuckDB, in the folder that holds out/",
    "import pyarrow.dataset as ds": "run: in the folder that holds out/, and its Polars alternative",
    "```cron": "not runnable here (cron): schedules and newsbeam command lines checked",
    "```ini": "not runnable here (systemd): units parsed, ExecStart's options checked",
    "from airflow import DAG": "not runnable here (Airflow is not installed): compiled, its options checked",
    "jq -e": "run: with /data/news replaced by out and `notify` defined",
    "newsbeam ingest --streaming": "not runnable here (follows feed URLs until stopped): options checked",
}
# Commands in runnable blocks that the test does not run, and why.
NOT_RUN = {
    "pip install": "installs this checkout: the tests run in the environment that install made",
    "python -m pytest": "runs this test suite",
}


def _blocks() -> list[str]:
    """The README's code blocks, each with its opening fence (```sql)."""
    return ["".join(parts) for parts in FENCE.findall(README.read_text(encoding="utf-8"))]


def _block(marker: str) -> str:
    """The text of the one block that `marker` claims, without its fence."""
    (block,) = [block for block in _blocks() if marker in block]
    return block.split("\n", 1)[1]


def _commands(block: str) -> list[str]:
    """The shell commands of a block: one per line, `&&` separating commands on a line."""
    lines = [line.strip() for line in block.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [command.strip() for line in lines for command in line.split("&&")]


def _shell(script: str, cwd: pathlib.Path) -> subprocess.CompletedProcess:
    """bash running `script` in `cwd`, with this checkout's newsbeam and this interpreter's scripts first."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ["PATH"]]),
    }
    return subprocess.run(["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def _accepted(argv: list[str]) -> None:
    """The command line takes `argv` (newsbeam's own options and Beam's): it exits 2 otherwise."""
    cli._parse_command_line(argv)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> pathlib.Path:
    """A folder where the README's relative paths resolve, `out/` made by the quick start's ingest command as
    written, then a run with a failed record so that the alerting commands have something to report."""
    folder = tmp_path_factory.mktemp("readme")
    (folder / "newsbeam" / "data").mkdir(parents=True)
    (folder / "newsbeam" / "data" / "samples").symlink_to(ROOT / "newsbeam" / "data" / "samples")
    for command in _commands(_block(QUICK_START)):
        if not command.startswith(tuple(NOT_RUN)):
            assert command.startswith("newsbeam "), command
            done = _shell(command, folder)
            assert done.returncode == 0, done.stderr
    (folder / "broken.jsonl").write_text("{not json\n", encoding="utf-8")
    done = _shell("newsbeam ingest --source broken.jsonl --output out", folder)
    assert done.returncode == 0, done.stderr
    return folder


def test_every_block_is_claimed():
    for block in _blocks():
        claims = [marker for marker in CLAIMS if marker in block]
        assert len(claims) == 1, f"README block claimed by {claims}, not exactly one test:\n{block}"
    for marker in CLAIMS:
        _block(marker)  # each claim still finds its block


def test_quick_start_ingests_the_samples(workdir):
    summaries = sorted((workdir / "out" / "_runs").glob("*.json"))
    assert len(summaries) == 2  # the quick start's run, then the broken file's
    assert sorted(p.parent.name for p in (workdir / "out" / "articles").glob("date=*/lang=*/*.parquet")) == [
        "lang=de", "lang=en", "lang=en", "lang=en", "lang=fr", "lang=fr", "lang=fr", "lang=nl"]  # fmt: skip


def test_duckdb_queries(workdir, monkeypatch):
    monkeypatch.chdir(workdir)
    statements = [s.strip() for s in _block("GROUP BY lang;").split(";") if s.strip()]
    assert len(statements) == 2
    connection = duckdb.connect()
    assert dict(connection.sql(statements[0]).fetchall()) == {"de": 2, "en": 3, "fr": 3, "nl": 1}
    mentions = connection.sql(statements[1]).fetchall()
    assert mentions and {label for _, label, _ in mentions} <= {"PER", "ORG", "LOC", "MISC"}


def test_duckdb_place_queries(workdir, monkeypatch):
    """The per-place query as written; the radius query as written, its point moved (by replacing the two
    coordinates) to a city of the samples, since the samples name no place near Kharkiv."""
    monkeypatch.chdir(workdir)
    per_day, nearby = [s.strip() for s in _block("unnest(places)").split(";") if s.strip()]
    connection = duckdb.connect()
    rows = connection.sql(per_day).fetchall()
    assert rows and all(articles >= 1 and languages for _, _, _, articles, languages in rows)
    assert connection.sql(nearby).fetchall() == []  # nothing in the samples lies within 100 km of Kharkiv
    name, latitude, longitude = connection.sql(
        "SELECT p.name, p.latitude, p.longitude FROM read_parquet('out/articles/**/*.parquet', hive_partitioning = "
        "true), unnest(places) AS t(p) WHERE p.feature = 'city' LIMIT 1"
    ).fetchall()[0]
    moved = nearby.replace("49.98", repr(latitude)).replace("36.25", repr(longitude))
    near = connection.sql(moved).fetchall()
    assert (name, 0.0) in {(row[3], row[4]) for row in near} and all(row[4] <= 100 for row in near)


def test_python_query_and_its_polars_alternative(workdir, monkeypatch):
    import polars

    monkeypatch.chdir(workdir)
    code = _block("import pyarrow.dataset as ds")
    namespace: dict = {}
    exec(compile(code, str(README), "exec"), namespace)
    frame = namespace["df"]
    assert list(frame.columns) == ["id", "title", "published_at", "entities"] and len(frame) == 1  # the one nl article
    (alternative,) = re.findall(r"# or (polars\..*)$", code, re.MULTILINE)
    articles = eval(alternative, {"polars": polars}).collect()
    assert articles.height == 9 and sorted(set(articles["lang"])) == ["de", "en", "fr", "nl"]


def test_alerting_commands_report_the_failed_record(workdir):
    assert shutil.which("jq"), "the README's alerting commands need jq (apt-get install jq)"
    block = _block("jq -e").replace("/data/news", "out")
    done = _shell('notify() { printf "%s\\n" "$*" >> notified.txt; }\n' + block, workdir)
    assert done.returncode == 0, done.stderr
    assert (workdir / "notified.txt").read_text() == "newsbeam: sources failed\n"  # the latest run failed
    assert re.search(r"broken\.jsonl\s*│\s*parse\s*│\s*bad_json\s*│\s*1\s", done.stdout), done.stdout


def test_command_line_synopsis_names_only_accepted_options():
    parser, command = cli._parser(), None
    for line in _block("newsbeam models [--json]").splitlines():
        command = re.match(r"newsbeam (\w+)", line).group(1) if line.startswith("newsbeam ") else command
        for option in re.findall(r"--[\w-]+", line):
            assert option in cli._own_options(parser, command), (command, option)


def test_streaming_command_takes_its_options():
    (command,) = _commands(_block("newsbeam ingest --streaming"))
    argv = shlex.split(re.sub(r"[\[\]]", "", command))  # `[--stop-after 3600]`: an optional part, given
    assert argv[:2] == ["newsbeam", "ingest"]
    _accepted(argv[1:])


def test_cron_lines_are_schedules_of_accepted_commands():
    lines = [line for line in _block("```cron").splitlines() if line.strip() and not line.startswith("#")]
    assert len(lines) == 2
    for line in lines:
        *schedule, command = line.split(None, 5)
        assert all(re.fullmatch(r"[\d*,/-]+", field) for field in schedule), line
        assert not re.search(r"(?<!\\)%", command), "cron reads an unescaped % as a newline"
        for part in re.split(r"&&|>>", command):
            if part.split()[0] == "newsbeam":
                _accepted(shlex.split(part)[1:])


def test_systemd_units_parse_and_run_an_accepted_command():
    units = re.split(r"^# /etc/systemd/system/", _block("```ini"), flags=re.MULTILINE)
    parsed = {}
    for unit in filter(str.strip, units):
        name, text = unit.split("\n", 1)
        parsed[name] = configparser.ConfigParser(interpolation=None)
        parsed[name].optionxform = str  # systemd keys are case-sensitive
        parsed[name].read_string(text)
    service, timer = parsed["newsbeam.service"]["Service"], parsed["newsbeam.timer"]["Timer"]
    binary, *argv = shlex.split(service["ExecStart"])
    assert binary.endswith("/newsbeam")
    _accepted(argv)
    assert service["SuccessExitStatus"] == str(cli.EXIT_LOCKED) and timer["OnCalendar"]


def test_airflow_dag_compiles_and_passes_accepted_options():
    tree = ast.parse(_block("from airflow import DAG"))
    (operator,) = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "").startswith("Beam")]
    arguments = {keyword.arg: ast.literal_eval(keyword.value) for keyword in operator.keywords}
    assert arguments["py_options"] == ["-m"] and importlib.util.find_spec(arguments["py_file"])
    # The operator adds its labels and the runner, and passes each option as --key=value after the module.
    options = {**arguments["pipeline_options"], "labels": {"airflow-version": "v2-10-0"}}
    options["runner"] = arguments["runner"]
    _accepted(["ingest", *(f"--{key}={value}" for key, value in options.items())])
