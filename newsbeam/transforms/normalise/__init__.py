"""Stage 2: dates, language, text, URLs and identity; duplicates removed."""
