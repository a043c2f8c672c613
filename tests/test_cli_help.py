"""`newsbeam --version` and every subcommand's `--help`: examples at the end, enumerated values listed, options described."""

import argparse

import pytest

import newsbeam
from newsbeam.cli import _parser, main

SUBCOMMANDS = ("ingest", "compact", "models", "report")


def _help(capsys, *argv: str) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--help"])
    assert exit_info.value.code == 0
    return capsys.readouterr().out


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    (commands,) = [a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return commands.choices


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"newsbeam {newsbeam.__version__}"


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_help_ends_with_examples_of_that_command(command, capsys):
    text = _help(capsys, command)
    tail = text.rstrip().split("\nexamples:\n")
    assert len(tail) == 2, text
    examples = [line.strip() for line in tail[1].splitlines() if line.strip()]
    assert 2 <= len(examples) <= 3 and all(line.startswith(f"newsbeam {command}") for line in examples), examples


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_help_lists_every_value_of_enumerated_options_and_describes_every_option(command, capsys):
    text = " ".join(_help(capsys, command).split())
    for action in _subparsers()[command]._actions:
        assert action.help and action.help != argparse.SUPPRESS, f"{command} {action.dest}: no description"
        for value in action.choices or ():
            assert str(value) in text, f"{command} {action.option_strings}: {value} not in --help"


def test_log_level_is_case_insensitive_and_checked(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["ingest", "--source", "x", "--output", "y", "--log-level", "loud"])
    assert exit_info.value.code == 2 and "invalid choice: 'LOUD'" in capsys.readouterr().err
