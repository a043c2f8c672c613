"""Pattern-style polarity lexicons (Dutch, French, German) with negation, intensifiers and inflections.

The lexicons ship in `newsbeam/data/sentiment/` (see the README there for provenance and licences). They
give the lexicon features of the German classifier and, for Dutch and French, the whole sentence score
(`sentiment.py` maps those features to the common scale).
"""

from __future__ import annotations

import functools
import importlib.resources
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

# Pattern's rule: a negated sentiment word keeps half its strength with the sign flipped ("not good" = -0.35).
NEGATION_FACTOR = -0.5
# A negation reaches the first sentiment word at most this many tokens later ("niet zo goed", "pas très bon").
NEGATION_WINDOW = 3

_TOKEN = re.compile(r"\w+|[^\w\s]")
_CLAUSE_BREAK = frozenset(",;:()[]{}\"“”„«»—–-.!?…")


@dataclass(frozen=True)
class Rules:
    """What a Pattern lexicon does not say about a language: negations, extra intensifiers, inflections."""

    negations: frozenset[str]
    # Multipliers for the next sentiment word, added to (and overriding) the lexicon's own intensities.
    intensifiers: dict[str, float]
    # Inflections undone, in order, when a word is not in the lexicon: suffix -> replacements for it.
    suffixes: tuple[tuple[str, tuple[str, ...]], ...] = ()


def _plain(*suffixes: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple((suffix, ("",)) for suffix in suffixes)


RULES = {
    "nl": Rules(
        negations=frozenset("niet geen nooit niets nergens noch zonder".split()),
        intensifiers={"zeer": 1.5, "erg": 1.5, "heel": 1.5, "echt": 1.3, "enorm": 1.5, "ontzettend": 1.7,
                      "uiterst": 1.7, "bijzonder": 1.5, "buitengewoon": 1.7, "nogal": 0.8, "vrij": 0.8, "best": 0.9},
        suffixes=_plain("e", "er", "ere", "st", "ste"),
    ),
    "fr": Rules(
        negations=frozenset("ne n pas jamais rien aucun aucune sans ni non guère".split()),
        intensifiers={"vraiment": 1.3, "extrêmement": 1.7, "particulièrement": 1.5, "tellement": 1.5, "assez": 0.8,
                      "plutôt": 0.8},
        suffixes=(*_plain("s", "e", "es"), ("euse", ("eux",)), ("euses", ("eux",)), ("ive", ("if",)),
                  ("ives", ("ifs",))),
    ),
    "de": Rules(
        negations=frozenset("nicht kein keine keinen keinem keiner keines nie niemals nichts ohne weder".split()),
        intensifiers={"sehr": 1.5, "besonders": 1.5, "äußerst": 1.7, "höchst": 1.7, "wirklich": 1.3, "echt": 1.3,
                      "total": 1.5, "ziemlich": 0.8, "recht": 0.9},
        suffixes=(
            *_plain("e", "en", "em", "er", "es", "ere", "eren", "erem", "erer", "eres", "ste", "sten", "stem", "ster",
                    "stes"),
            # Verbs, listed by infinitive: "verbessert" -> "verbessern", "lobt" -> "loben".
            ("t", ("n", "en")), ("et", ("en",)), ("te", ("n", "en")), ("ten", ("n", "en")), ("st", ("en",)),
        ),
    ),
}  # fmt: skip


@dataclass(frozen=True)
class Lexicon:
    """Polarity and intensifier strength by lower-case word form, averaged over a lexicon's senses."""

    polarity: dict[str, float]
    intensity: dict[str, float]
    rules: Rules

    def lookup(self, word: str) -> float | None:
        """Polarity of a word, trying the language's inflection suffixes when the form itself is not listed."""
        if word in self.polarity:
            return self.polarity[word]
        for suffix, replacements in self.rules.suffixes:
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                for stem in _stems(word[: -len(suffix)]):
                    for replacement in replacements:
                        if stem + replacement in self.polarity:
                            return self.polarity[stem + replacement]
        return None


def _stems(stem: str) -> tuple[str, ...]:
    """A Dutch/German-style stem and its spelling variants: undoubled consonant, doubled vowel, v->f, z->s."""
    variants = [stem]
    if len(stem) > 3 and stem[-1] == stem[-2] and stem[-1] not in "aeiou":
        variants.append(stem[:-1])  # dikk(e) -> dik
    if len(stem) > 2 and stem[-2] in "aeou" and stem[-1] not in "aeiou" and stem[-3] not in "aeiou":
        variants.append(stem[:-1] + stem[-2] + stem[-1])  # grot(e) -> groot
    for last, replacement in (("v", "f"), ("z", "s")):
        if stem.endswith(last):
            variants += [v[:-1] + replacement for v in list(variants)]  # liev(e) -> lief, boz(e) -> boos
    return tuple(variants)


@functools.cache
def pattern_lexicon(language: str, news_words: bool = True) -> Lexicon:
    """The lexicon of a language in `RULES`, plus its `news-<lang>.tsv` nouns and verbs; parsed once per process."""
    path = importlib.resources.files("newsbeam").joinpath(f"data/sentiment/{language}-sentiment.xml")
    with path.open("rb") as handle:
        root = ET.parse(handle).getroot()
    senses: dict[str, list[tuple[float, float]]] = {}
    for word in root.iter("word"):
        # Adverbs (RB) are the lexicons' modifiers ("très", "extrem"): their intensity counts, not their polarity.
        polarity = 0.0 if word.get("pos") == "RB" else float(word.get("polarity") or 0)
        senses.setdefault(word.get("form", "").lower(), []).append((polarity, float(word.get("intensity") or 1)))
    rules = RULES[language]
    polarity, intensity = {}, dict(rules.intensifiers)
    for form, values in senses.items():
        mean_polarity = sum(p for p, _ in values) / len(values)
        mean_intensity = sum(i for _, i in values) / len(values)
        if mean_polarity:  # words of polarity 0 would only dilute the average
            polarity[form] = mean_polarity
        if mean_intensity != 1.0 and form not in intensity:
            intensity[form] = mean_intensity
    if news_words:
        polarity.update(_news_words(language))
    return Lexicon(polarity, intensity, rules)


def _news_words(language: str) -> dict[str, float]:
    """Hand-listed news nouns and verbs (`word<TAB>polarity`, `#` comments); empty for a language without a list."""
    path = importlib.resources.files("newsbeam").joinpath(f"data/sentiment/news-{language}.tsv")
    if not path.is_file():
        return {}
    rows = (line.split("\t") for line in path.read_text(encoding="utf-8").splitlines() if line and line[0] != "#")
    return {word.lower(): float(value) for word, value in rows}


def lexicon_features(sentence: str, lexicon: Lexicon) -> tuple[float, int, int]:
    """Mean polarity of a sentence's sentiment words, each scaled by a preceding intensifier and flipped by negation.

    An intensifier counts only right before a sentiment word (and then not as a sentiment word itself);
    a negation applies to the first sentiment word within `NEGATION_WINDOW` tokens, inside the same clause.
    Returns that mean (0 without sentiment words) and the counts of positive and negative words.
    """
    tokens = _TOKEN.findall(sentence.lower())
    scores: list[float] = []
    negated_until = -1
    skip_next_as_modifier = False
    for index, token in enumerate(tokens):
        if skip_next_as_modifier:  # already scored with the intensifier before it
            skip_next_as_modifier = False
            continue
        if token in _CLAUSE_BREAK:
            negated_until = -1
            continue
        if token in lexicon.rules.negations:
            negated_until = index + NEGATION_WINDOW
            continue
        polarity = lexicon.lookup(token)
        multiplier = lexicon.intensity.get(token)
        following = lexicon.lookup(tokens[index + 1]) if multiplier and index + 1 < len(tokens) else None
        if following is not None:
            polarity = max(-1.0, min(1.0, following * multiplier))
            skip_next_as_modifier = True
        if polarity is None:
            continue
        if index <= negated_until:
            polarity *= NEGATION_FACTOR
            negated_until = -1
        scores.append(polarity)
    mean = sum(scores) / len(scores) if scores else 0.0
    return mean, sum(s > 0 for s in scores), sum(s < 0 for s in scores)
