"""Stage 3: named entities (spaCy through RunInference) and sentiment."""
