"""The example sources file parses, and every entry has a name and a language in the four covered languages."""

import pathlib

from newsbeam.transforms.sources.specs import parse_sources_file

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def test_example_sources_parse_with_names_and_languages():
    specs = parse_sources_file(str(EXAMPLES / "sources.txt"))
    assert specs, "no sources in examples/sources.txt"
    assert all(spec.is_url and spec.name and spec.language for spec in specs), specs
    assert {spec.language for spec in specs} == {"nl", "en", "fr", "de"}
    assert len({spec.name for spec in specs}) == len(specs)  # names tell sources apart
    assert len({spec.location for spec in specs}) == len(specs)
