"""Stage 1: turn source specs (feed URLs, files, folders, globs) into raw article records."""
