"""`newsbeam report`: what a dataset holds, as one self-contained HTML page or key figures in the terminal.

DuckDB aggregates the visible Parquet files (no rows are loaded into Python); `figures` holds the
aggregates, `page` draws them with `svg`, `text` prints them.
"""

from __future__ import annotations

import os
import tempfile

from newsbeam.report.dataset import Dataset, NotADataset, Selection
from newsbeam.report.figures import Figures, compute
from newsbeam.report.page import render

__all__ = ["Dataset", "Figures", "NotADataset", "Selection", "build_figures", "write_html"]


def build_figures(output: str, selection: Selection) -> Figures:
    """The report's figures for the dataset at `output` (a local folder)."""
    dataset = Dataset(output, selection)
    try:
        return compute(dataset)
    finally:
        dataset.close()


def write_html(output: str, selection: Selection, path: str) -> Figures:
    """Write the HTML report of the dataset at `output` to `path` (atomically: a reader never sees half a page)."""
    figures = build_figures(output, selection)
    folder = os.path.dirname(os.path.abspath(path))
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=folder, prefix=".report-", suffix=".tmp",
                                     delete=False) as handle:  # fmt: skip
        handle.write(render(figures, output, selection))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(handle.name, 0o666 & ~umask)  # as an ordinary new file, not the temporary's private 0600
    os.replace(handle.name, path)
    return figures
