"""The `newsbeam` command line. Its options and exit codes are a contract that schedulers depend on.

Exit codes: 0 the run completed (failed sources are in the dead letters and the run summary),
1 the run itself failed, 2 usage or configuration error (bad option, missing source, unwritable output),
3 another run holds the output (nothing was done; the next scheduled run will catch up).
"""

from __future__ import annotations

import argparse
import difflib
import json
import logging
import os
import re
import sys

import newsbeam
from newsbeam.cli_help import add_examples
from newsbeam.errors import OutputLocked
from newsbeam.report.command import add_report_parser
from newsbeam.transforms.normalise.language import (  # light: lingua itself is imported when first used
    DEFAULT_LANGUAGES,
    DETECTION_MODES,
    normalise_language_tag,
    unsupported_languages,
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_LOCKED = 0, 1, 2, 3
DEFAULT_CHUNK_SIZE = 2_000  # records per chunk of a batch run on the in-process DirectRunner
SAFE_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
# Beam modules that register pipeline options outside pipeline_options.py; Beam imports them only when their
# runner runs, after the command line has been checked.
BEAM_OPTION_MODULES = ("apache_beam.runners.render", "apache_beam.runners.dask.dask_runner", "apache_beam.yaml.options")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class UsageError(Exception):
    """A problem with what the user asked for: reported in one line, exit status 2."""


class _ArgumentParser(argparse.ArgumentParser):
    """argparse that takes options only as spelled in full (`--dry` is not `--dry-run`, and `--run X` does not
    set the run id) and reports a usage error in one line on stderr, exit status 2."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, allow_abbrev=False, **kwargs)

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"newsbeam: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(prog="newsbeam", description="News ingestion on Apache Beam.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {newsbeam.__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    ingest = commands.add_parser(
        "ingest",
        help="read feeds and article files, enrich them, write Hive-partitioned Parquet",
        description="Apache Beam's pipeline options (--runner, --direct_num_workers, ...) are passed to Beam; "
                    "any other option is a usage error.",
    )
    ingest.add_argument("--source", action="append", default=[], metavar="SRC",
                        help="feed URL, feed file, article file, folder or glob (repeatable)")
    ingest.add_argument("--sources", metavar="FILE",
                        help="file with one source per line (`SRC [name=...] [language=..]`, # comments) or TOML")
    ingest.add_argument("--output", required=True, metavar="DIR", help="dataset root (local path or gs://, s3://)")
    ingest.add_argument("--ner-model", action="append", default=[], metavar="LANG=MODEL",
                        help="spaCy pipeline for a language: package name, folder path, or `none` (repeatable)")
    ingest.add_argument("--languages", type=_language_list, metavar="LL,LL,...",
                        help="candidate languages of detection, ISO 639-1 (default: 51 European and world languages)")
    ingest.add_argument("--language-detection", choices=sorted(DETECTION_MODES), default="refined",
                        help="refined (default): fast models, short or table-like texts re-scored by accurate ones "
                             "loaded on demand; fast: fast models only (least memory and CPU, worse on headlines "
                             "and tables of figures); "
                             "accurate: accurate models for everything (~1.1 GB per worker)")
    ingest.add_argument("--fetch-timeout", type=float, default=30.0, metavar="SECONDS",
                        help="total time allowed per feed request, retries included (default 30)")
    ingest.add_argument("--fetch-max-bytes", type=int, default=15 * 1024 * 1024, metavar="N",
                        help="largest feed body accepted, after decompression (default 15 MiB)")
    ingest.add_argument("--fetch-retries", type=int, default=2, metavar="N",
                        help="extra attempts after transient failures (timeouts, 5xx) (default 2)")
    ingest.add_argument("--since", type=_utc_time, metavar="DATE",
                        help="only articles published at or after DATE (ISO 8601, UTC if no offset)")
    ingest.add_argument("--until", type=_utc_time, metavar="DATE", help="only articles published before DATE")
    ingest.add_argument("--chunk-size", type=int, metavar="N",
                        help="read file sources once, then run the pipeline per chunk of N records, so that "
                             "memory stays that of an N-article run (default: %d on the in-process DirectRunner, "
                             "0 = no chunks, with other runners and multi_processing)" % DEFAULT_CHUNK_SIZE)
    ingest.add_argument("--dry-run", action="store_true",
                        help="read, normalise and enrich, report what would be written, write nothing")
    ingest.add_argument("--streaming", action="store_true",
                        help="follow the feeds continuously instead of one batch run (needs feed URLs)")
    ingest.add_argument("--poll-interval", type=float, default=300.0, metavar="SECONDS",
                        help="with --streaming: how often each feed is polled (default 300)")
    ingest.add_argument("--stop-after", type=float, metavar="SECONDS",
                        help="with --streaming: stop gracefully after this long (default: run until Ctrl-C/SIGTERM)")
    ingest.add_argument("--run-id", type=_run_id,
                        help="identifier of this run, part of its file names: letters, digits, '.', '_', '-' "
                             "(default: UTC time plus a random suffix)")
    ingest.add_argument("--log-level", default="WARNING", type=str.upper, choices=LOG_LEVELS,
                        help="DEBUG (also Beam's own messages), INFO (one line per stage), WARNING (default), "
                             "ERROR, CRITICAL")
    ingest.add_argument("--lock-timeout", type=float, default=600.0, metavar="SECONDS",
                        help="a lock whose heartbeat is older than this is stale (default 600)")

    compact = commands.add_parser("compact", help="rewrite partitions' small files into fewer large ones",
                                  description="Rewrite each partition's files into as few as --rows-per-file allows,\n"
                                              "under the output lock (readers see all old files or all new ones).")  # fmt: skip
    compact.add_argument("output", metavar="DIR", help="dataset root written by `newsbeam ingest --output DIR`")
    compact.add_argument("--partition", action="append", default=[], metavar="date=YYYY-MM-DD/lang=LL",
                         help="only these partitions (repeatable; default all)")
    compact.add_argument("--min-files", type=int, default=2, metavar="N",
                         help="leave partitions with fewer files than N alone (default 2)")
    compact.add_argument("--rows-per-file", type=int, default=500_000, metavar="N",
                         help="most rows per rewritten file (default 500,000)")
    compact.add_argument("--lock-timeout", type=float, default=600.0, metavar="SECONDS",
                         help="a lock whose heartbeat is older than this is stale (default 600)")

    models = commands.add_parser("models", help="list the NER pipeline each language would use")
    models.add_argument("--json", action="store_true", help="machine-readable output")
    models.add_argument("--ner-model", action="append", default=[], metavar="LANG=MODEL",
                        help="spaCy pipeline for a language: package name, folder path, or `none` (repeatable)")

    add_report_parser(commands, _utc_time)
    add_examples(commands)
    return parser


def _utc_time(value: str):
    import datetime as dt

    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date or time: {value!r}") from None
    return moment.replace(tzinfo=dt.timezone.utc) if moment.tzinfo is None else moment.astimezone(dt.timezone.utc)


def _run_id(value: str) -> str:
    """A run id names files (`part-<run-id>-...`, `_runs/<run-id>.json`): a plain file-name token, so that it
    can neither point outside the output nor hide the run's files, refused before any work is done."""
    if not SAFE_RUN_ID.fullmatch(value):
        raise argparse.ArgumentTypeError(
            f"not a safe run id: {value!r} (letters, digits, '.', '_', '-', starting with a letter or digit, "
            "at most 100 characters)"
        )
    return value


def _language_list(value: str) -> tuple[str, ...]:
    codes = [code.strip() for code in value.split(",") if code.strip()]
    normalised = [normalise_language_tag(code) for code in codes]
    unknown = [code for code, norm in zip(codes, normalised) if norm is None]
    unknown += unsupported_languages(norm for norm in normalised if norm)
    if not codes or unknown:
        raise argparse.ArgumentTypeError(f"not languages the detector knows: {unknown or value!r}")
    return tuple(sorted(set(normalised)))


def _registry(overrides: list[str]):
    from newsbeam.transforms.enrich.registry import ModelRegistry, parse_overrides

    try:
        return ModelRegistry(parse_overrides(overrides))
    except ValueError as exc:
        raise UsageError(f"--ner-model: {exc}") from None


def _resolve_models(registry) -> dict:
    try:
        return registry.resolve_all()
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _sources(args) -> list:
    from newsbeam.transforms.sources.specs import SourceSpec, parse_sources_file

    specs = [SourceSpec(location) for location in args.source]
    if args.sources:
        try:
            specs.extend(parse_sources_file(args.sources))
        except (OSError, ValueError) as exc:
            raise UsageError(f"--sources {args.sources}: {exc}") from None
    if not specs:
        raise UsageError("give at least one --source or a --sources file")
    for spec in specs[: len(args.source)]:  # named on the command line: must exist now
        _check_local_source(spec)
    return specs


def _check_local_source(spec) -> None:
    from apache_beam.io.filesystems import FileSystems

    if spec.is_url or "://" in spec.location:
        return
    if spec.is_glob or FileSystems.exists(spec.location):
        return
    raise UsageError(f"source not found: {spec.location}")


def _check_output_writable(output: str) -> None:
    import uuid

    from apache_beam.io.filesystems import FileSystems

    from newsbeam.pipelines.lock import WRITE_PROBE_PREFIX

    # One probe per process, written directly (no temporary) under a name the lock holder's sweep of hidden
    # files skips: two runs started together must not delete each other's probe (the loser would report an
    # unwritable output instead of waiting for or being refused by the lock).
    probe = FileSystems.join(output, "_runs", f"{WRITE_PROBE_PREFIX}{uuid.uuid4().hex}")
    try:
        with FileSystems.create(probe, compression_type="uncompressed"):
            pass
        FileSystems.delete([probe])
    except Exception as exc:
        raise UsageError(f"output not writable: {output} ({exc})") from None


def _fetch_settings(args):
    from newsbeam.transforms.sources.fetch import FetchSettings

    if args.fetch_timeout <= 0 or args.fetch_max_bytes <= 0 or args.fetch_retries < 0:
        raise UsageError("--fetch-timeout and --fetch-max-bytes must be positive, --fetch-retries not negative")
    return FetchSettings(
        connect_timeout=min(10.0, args.fetch_timeout),
        read_timeout=min(20.0, args.fetch_timeout),
        total_deadline=args.fetch_timeout,
        max_bytes=args.fetch_max_bytes,
        retries=args.fetch_retries,
    )


def _beam_options(args, beam_args: list[str]):
    """Beam's options as given, with worker processes logging at our level unless the user chose one."""
    from apache_beam.options.pipeline_options import PipelineOptions

    if not any(arg.startswith("--default_sdk_harness_log_level") for arg in beam_args):
        beam_args = [*beam_args, f"--default_sdk_harness_log_level={args.log_level.upper()}"]
    return PipelineOptions(beam_args)


def _chunk_size(args, options) -> int:
    """--chunk-size, or by default chunks when the pipeline runs inside this process only: distributed
    runners spill shuffles to disk (a chunk would be a job of its own), and multi_processing workers
    would start again, models and all, for every chunk."""
    from newsbeam.pipelines.runner import runs_in_this_process

    if args.chunk_size is not None:
        if args.chunk_size < 0:
            raise UsageError("--chunk-size must be 0 (no chunks) or positive")
        return args.chunk_size
    return DEFAULT_CHUNK_SIZE if runs_in_this_process(options) else 0


def _ingest(args, beam_args: list[str]) -> int:
    """An ingest run with its progress on stderr (see pipelines/progress.py)."""
    from newsbeam.pipelines import progress

    progress.start(sys.stderr)
    try:
        return _run_ingest(args, beam_args)
    finally:
        progress.stop()


def _run_ingest(args, beam_args: list[str]) -> int:
    import datetime as dt

    from newsbeam.pipelines import progress
    from newsbeam.pipelines.ingest import IngestConfig, run_ingest
    from newsbeam.pipelines.lock import OutputLock, remove_temporaries
    from newsbeam.pipelines.memory import pin_allocator_thresholds

    pin_allocator_thresholds()  # spaCy's large batch arrays go back to the system, the heap is not trimmed on every free

    specs = _sources(args)
    options = _beam_options(args, beam_args)
    models = _resolve_models(_registry(args.ner_model))
    if args.since and args.until and args.since >= args.until:
        raise UsageError("--since must be before --until")
    output = args.output.rstrip("/") or "/"
    config = IngestConfig(
        sources=specs,
        output=output,
        models=models,
        fetch_settings=_fetch_settings(args),
        since=args.since,
        until=args.until,
        dry_run=args.dry_run,
        languages=args.languages or DEFAULT_LANGUAGES,
        language_detection=args.language_detection,
        chunk_size=_chunk_size(args, options),
        run_id=args.run_id or "",
    )
    if args.streaming:
        return _stream(args, config, beam_args)
    if args.dry_run:  # reads the dataset's ids, writes nothing: no lock needed
        summary = run_ingest(config, options)
        print(json.dumps({k: summary[k] for k in ("run_id", "totals", "sources", "partitions")}, indent=2, sort_keys=True))
        print(progress.summary_line(config.run_id, summary, output, dry_run=True), file=sys.stderr)
        return EXIT_OK
    _check_output_writable(output)
    with OutputLock(output, config.run_id, stale_after=dt.timedelta(seconds=args.lock_timeout)):
        remove_temporaries(output)  # what a killed run left; no live writer owns any while we hold the lock
        summary = run_ingest(config, options)
    print(progress.summary_line(config.run_id, summary, output), file=sys.stderr)
    return EXIT_OK


def _stream(args, config, beam_args: list[str]) -> int:
    """--streaming: the same transforms on feeds polled every --poll-interval, until --stop-after or a signal."""
    import datetime as dt

    from newsbeam.pipelines import progress
    from newsbeam.pipelines.lock import OutputLock, remove_temporaries
    from newsbeam.pipelines.streaming import run_streaming

    if args.dry_run or args.since or args.until:
        raise UsageError("--streaming does not take --dry-run, --since or --until")
    if args.poll_interval <= 0 or (args.stop_after is not None and args.stop_after <= 0):
        raise UsageError("--poll-interval and --stop-after must be positive")
    if not all(spec.is_url for spec in config.sources):
        raise UsageError("--streaming follows feed URLs; ingest files with a batch run")
    _check_output_writable(config.output)
    with OutputLock(config.output, config.run_id, stale_after=dt.timedelta(seconds=args.lock_timeout)):
        remove_temporaries(config.output)
        summary = run_streaming(config, _beam_options(args, beam_args), poll_interval=args.poll_interval,
                                stop_after=args.stop_after)  # fmt: skip
    progress.stop()  # the last poll's line
    print(f"newsbeam: streaming run {config.run_id} stopped: {progress.plural(summary['totals']['written'], 'article')} "
          "written", file=sys.stderr)  # fmt: skip
    return EXIT_OK


def _compact(args) -> int:
    import datetime as dt

    from newsbeam.pipelines.compact import compact

    if "://" not in args.output and not os.path.isdir(args.output):
        raise UsageError(f"not a dataset folder: {args.output}")
    report = compact(args.output.rstrip("/"), partitions=args.partition or None, rows_per_file=args.rows_per_file,
                     min_files=args.min_files, stale_after=dt.timedelta(seconds=args.lock_timeout))  # fmt: skip
    print(json.dumps(report, indent=2, sort_keys=True))
    return EXIT_OK


def _report(args) -> int:
    from newsbeam.report import NotADataset
    from newsbeam.report.command import run_report

    try:
        return run_report(args)
    except (NotADataset, ValueError, OSError) as exc:
        raise UsageError(str(exc)) from None


def _model_entry(registry, spec, language: str) -> dict:
    """What `newsbeam models` says of the pipeline serving `language`."""
    from newsbeam.transforms.enrich.conventions import labels_written

    meta = spec.meta()
    labels = sorted(meta.get("labels", {}).get("ner", []))
    return {"name": spec.name, "version": spec.version, "path": spec.resolved_path(), "labels": labels,
            "labels_written": labels_written(labels, language), "ner_model": spec.label,
            "description": meta.get("description", ""), "candidates": registry.candidates(language)}


def _models(args) -> int:
    registry = _registry(args.ner_model)
    resolved = _resolve_models(registry)
    listing = {
        language: _model_entry(registry, spec, language) if (spec := resolved.get(language)) else None
        for language in registry.languages()
    }
    if args.json:
        print(json.dumps(listing, indent=2, sort_keys=True))
    else:
        for language, entry in listing.items():
            print(f"{language}\t{entry['name']} {entry['version']}\t{entry['path']}" if entry else f"{language}\t(no pipeline)")
    return EXIT_OK


# Beam warnings that say nothing about the run: GCP clients we do not use, and RunInference's memory
# metric, which Beam 2.77 disables when torch is absent (its model_manager imports torch).
_BEAM_NOISE = ("apitools not found", "Resource module is not available")


def _configure_logging(level: str) -> None:
    """Set up logging before Beam is imported (Beam's import-time warnings would otherwise configure it)."""
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(lambda record: not record.getMessage().startswith(_BEAM_NOISE))
    if logging.getLogger().level > logging.DEBUG:  # Beam's own INFO lines only when debugging
        logging.getLogger("apache_beam").setLevel(max(logging.WARNING, logging.getLogger().level))


def _own_options(parser: argparse.ArgumentParser, command: str) -> list[str]:
    """The option strings of one subcommand of `parser`."""
    (subcommands,) = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]
    return [option for action in subcommands.choices[command]._actions for option in action.option_strings]


def _beam_option_parser():
    """A parser of every pipeline option that Beam registers: the options of all PipelineOptions subclasses,
    as Beam's own parser spells them (no abbreviations); it raises argparse.ArgumentError on a bad value."""
    import importlib

    from apache_beam.options.pipeline_options import PipelineOptions, _BeamArgumentParser

    for module in BEAM_OPTION_MODULES:
        try:
            importlib.import_module(module)
        except ImportError:  # the runner's own dependencies are not installed: it cannot run anyway
            pass
    parser = _BeamArgumentParser(allow_abbrev=False, conflict_handler="resolve", exit_on_error=False)
    classes, seen = list(PipelineOptions.__subclasses__()), set()
    while classes:
        options_class = classes.pop()
        if options_class not in seen:
            seen.add(options_class)
            classes += options_class.__subclasses__()
            if "_add_argparse_args" in vars(options_class):
                options_class._add_argparse_args(parser)
    return parser


def _option_key(option: str) -> str:
    """An option's name without dashes, underscores and case: `--dry_run`, `--dryrun` and `--dry-run` are one."""
    return option.lstrip("-").replace("-", "").replace("_", "").lower()


def _unknown_argument(rest: list[str], own: list[str], beam) -> str | None:
    """The first argument of `rest` (what the subcommand's `own` options left) that the `beam` parser does not
    take (every one when `beam` is None), or that spells one of `own` differently: Beam's test flag `--dry_run`
    must not pass for `--dry-run`. None when every argument is a Beam option."""
    own_keys = {_option_key(option) for option in own}
    for argument in rest:
        if argument.startswith("-") and _option_key(argument.split("=", 1)[0]) in own_keys:
            return argument
    unknown = beam.parse_known_args(rest)[1] if beam and rest else rest
    return unknown[0] if unknown else None


def _unknown_argument_message(argument: str, command: str, known: list[str]) -> str:
    """One line naming the argument and the closest known option, if one is close."""
    if not argument.startswith("-"):
        return f"unexpected argument: {argument}"
    name = argument.split("=", 1)[0]
    by_key = {_option_key(option): option for option in known}  # later (newsbeam's own) options win a tie
    match = difflib.get_close_matches(_option_key(name), by_key, n=1)
    if match:
        return f"unknown option {name}: did you mean {by_key[match[0]]}?"
    return f"unknown option {name} (newsbeam {command} --help lists the options)"


def _parse_command_line(argv: list[str] | None) -> tuple[argparse.Namespace, list[str]]:
    """The subcommand's options and, for `ingest`, Beam's pipeline options. Any other argument is a usage
    error (exit status 2) before anything is read or written: a mistyped `--dryrun` must not run for real."""
    parser = _parser()
    args, rest = parser.parse_known_args(argv)
    own = _own_options(parser, args.command)
    beam = _beam_option_parser() if args.command == "ingest" and rest else None
    try:
        unknown = _unknown_argument(rest, own, beam)
    except argparse.ArgumentError as exc:  # a Beam option with a value it does not take
        parser.error(str(exc))
    if unknown is not None:
        known = [option for action in beam._actions for option in action.option_strings] if beam else []
        parser.error(_unknown_argument_message(unknown, args.command, known + own))
    return args, rest


def main(argv: list[str] | None = None) -> int:
    args, rest = _parse_command_line(argv)
    _configure_logging(getattr(args, "log_level", "WARNING"))
    commands = {"ingest": lambda: _ingest(args, rest), "models": lambda: _models(args), "compact": lambda: _compact(args),
                "report": lambda: _report(args)}
    try:
        return commands[args.command]()
    except UsageError as exc:
        print(f"newsbeam: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OutputLocked as exc:
        print(f"newsbeam: another run holds the output, nothing done: {exc}", file=sys.stderr)
        return EXIT_LOCKED
    except KeyboardInterrupt:
        print("newsbeam: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the run itself failed; details are in the log
        logging.getLogger("newsbeam").debug("run failed", exc_info=True)
        print(f"newsbeam: run failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
