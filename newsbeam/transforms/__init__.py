"""Beam transforms, one sub-package per stage: sources -> normalise -> enrich -> sink."""
