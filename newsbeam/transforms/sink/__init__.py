"""Stage 4: atomic, Hive-partitioned Parquet for articles and dead letters, and the run summary."""
