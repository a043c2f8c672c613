"""News-annotation conventions applied to the training and test labels.

CoNLL-2002/2003 tag nationalities, demonyms and language adjectives as MISC and a
seat of government used for the government as ORG.  WikiANN has no MISC and tags
a demonym linked to its country as LOC; GermEval's ``LOCderiv`` ("deutsche") is
O in the shared copy; UNER has no MISC.  ``relabel`` brings every corpus to the
CoNLL convention with the product's word lists
(``newsbeam/transforms/enrich/conventions.py``, which says how they match), so
the model is not taught that a demonym is a place or nothing.
"""

from newsbeam.transforms.enrich.conventions import DEMONYMS, SEATS


def _spans(tags):
    """(start, end, label) spans of IOB2 tags."""
    spans, i = [], 0
    while i < len(tags):
        if tags[i] != "O":
            j = i + 1
            while j < len(tags) and tags[j] == "I-" + tags[i][2:]:
                j += 1
            spans.append((i, j, tags[i][2:]))
            i = j
        else:
            i += 1
    return spans


def _set(tags, start, end, label):
    """Tag tokens start..end as one entity of label."""
    tags[start] = "B-" + label
    for k in range(start + 1, end):
        tags[k] = "I-" + label


def relabel(words, tags, lang):
    """Return IOB2 tags with demonyms as MISC and seats of government as ORG.

    A demonym becomes MISC when it is untagged or is by itself a whole entity
    (WikiANN's ``Britse`` LOC); inside a longer name (``Deutsche Bank``) it is
    left alone.  A seat-of-government word sequence becomes ORG under the same
    rule.  ``tags`` must be IOB2 (``B-`` opens every entity).
    """
    tags, demonyms = list(tags), DEMONYMS[lang]
    whole = {(s, e) for s, e, _ in _spans(tags)}
    for i, word in enumerate(words):
        if word in demonyms and (tags[i] == "O" or (i, i + 1) in whole):
            _set(tags, i, i + 1, "MISC")
    for seat in SEATS:
        n = len(seat)
        for i in range(len(words) - n + 1):
            if tuple(words[i:i + n]) != seat:
                continue
            if all(t == "O" for t in tags[i:i + n]) or (i, i + n) in whole:
                _set(tags, i, i + n, "ORG")
    return tags
