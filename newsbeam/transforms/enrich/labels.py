"""Entity labels from any spaCy pipeline normalised to PER, ORG, LOC, MISC; dates and numbers dropped."""

from __future__ import annotations

LABELS = ("PER", "ORG", "LOC", "MISC")

_MAP = {
    "PER": "PER", "PERSON": "PER", "PRS": "PER",
    "ORG": "ORG", "ORGANIZATION": "ORG",
    "LOC": "LOC", "GPE": "LOC", "FAC": "LOC", "LOCATION": "LOC",
    "MISC": "MISC", "NORP": "MISC", "EVENT": "MISC", "PRODUCT": "MISC", "WORK_OF_ART": "MISC",
    "LAW": "MISC", "LANGUAGE": "MISC",
}  # fmt: skip
# OntoNotes value types: not names, so not entities here.
_DROPPED = frozenset(("DATE", "TIME", "PERCENT", "MONEY", "QUANTITY", "ORDINAL", "CARDINAL"))


def normalise_label(label: str) -> str | None:
    """PER/ORG/LOC/MISC for a pipeline's label, None for labels that are dates or numbers.

    Unknown name-like labels become MISC rather than being lost.
    """
    upper = label.upper()
    if upper in _DROPPED:
        return None
    return _MAP.get(upper, "MISC")
