"""newsbeam: news ingestion on Apache Beam (feeds and article files to enriched, Hive-partitioned Parquet)."""

__version__ = "0.1.0"
