"""Article sentiment in [-1, 1]: VADER for English, Pattern's polarity lexicons for Dutch, French and German.

Everything is offline: VADER's lexicon ships in the vaderSentiment wheel, the other lexicons in
`newsbeam/data/sentiment/` (see the README there for their provenance and licences).

Long text: only the first `MAX_CHARS` characters are read; the text is split into sentences, each sentence
is scored, and the article score is the mean over all sentences, those without any sentiment word counting
as 0, so a mostly factual article stays near neutral. Labels: `positive` when score >= 0.05, `negative`
when score <= -0.05, else `neutral` (VADER's recommended cut-offs, applied to every method).
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.resources
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass

from newsbeam.transforms.normalise.language import normalise_language_tag

NEUTRAL_BAND = 0.05
MAX_CHARS = 10_000
# Pattern's rule: a negated sentiment word keeps half its strength with the sign flipped ("not good" = -0.35).
NEGATION_FACTOR = -0.5
# A negation reaches the first sentiment word at most this many tokens later ("niet zo goed", "pas très bon").
NEGATION_WINDOW = 3

_SENTENCE_BREAK = re.compile(r"(?<=[.!?…])\s+|\s*\n\s*")
_TOKEN = re.compile(r"\w+|[^\w\s]")
_CLAUSE_BREAK = frozenset(",;:()[]{}\"“”„«»—–-.!?…")


@dataclass(frozen=True, slots=True)
class Sentiment:
    """One article's sentiment: score in [-1, 1], its label, and the method that produced it."""

    score: float
    label: str
    method: str


def label_for(score: float) -> str:
    """`positive`, `negative` or `neutral` by the ±`NEUTRAL_BAND` cut-offs."""
    if score >= NEUTRAL_BAND:
        return "positive"
    if score <= -NEUTRAL_BAND:
        return "negative"
    return "neutral"


@dataclass(frozen=True)
class _Rules:
    """What a Pattern lexicon does not say about a language: negations, extra intensifiers, inflections."""

    negations: frozenset[str]
    # Multipliers for the next sentiment word, added to (and overriding) the lexicon's own intensities.
    intensifiers: dict[str, float]
    # Inflections undone, in order, when a word is not in the lexicon: suffix -> replacements for it.
    suffixes: tuple[tuple[str, tuple[str, ...]], ...] = ()


def _plain(*suffixes: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple((suffix, ("",)) for suffix in suffixes)


_RULES = {
    "nl": _Rules(
        negations=frozenset("niet geen nooit niets nergens noch zonder".split()),
        intensifiers={"zeer": 1.5, "erg": 1.5, "heel": 1.5, "echt": 1.3, "enorm": 1.5, "ontzettend": 1.7,
                      "uiterst": 1.7, "bijzonder": 1.5, "buitengewoon": 1.7, "nogal": 0.8, "vrij": 0.8, "best": 0.9},
        suffixes=_plain("e", "er", "ere", "st", "ste"),
    ),
    "fr": _Rules(
        negations=frozenset("ne n pas jamais rien aucun aucune sans ni non guère".split()),
        intensifiers={"vraiment": 1.3, "extrêmement": 1.7, "particulièrement": 1.5, "tellement": 1.5, "assez": 0.8,
                      "plutôt": 0.8},
        suffixes=(*_plain("s", "e", "es"), ("euse", ("eux",)), ("euses", ("eux",)), ("ive", ("if",)),
                  ("ives", ("ifs",))),
    ),
    "de": _Rules(
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
class _Lexicon:
    """Polarity and intensifier strength by lower-case word form, averaged over a lexicon's senses."""

    polarity: dict[str, float]
    intensity: dict[str, float]
    rules: _Rules

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
def _pattern_lexicon(language: str) -> _Lexicon:
    path = importlib.resources.files("newsbeam").joinpath(f"data/sentiment/{language}-sentiment.xml")
    with path.open("rb") as handle:
        root = ET.parse(handle).getroot()
    senses: dict[str, list[tuple[float, float]]] = {}
    for word in root.iter("word"):
        # Adverbs (RB) are the lexicons' modifiers ("très", "extrem"): their intensity counts, not their polarity.
        polarity = 0.0 if word.get("pos") == "RB" else float(word.get("polarity") or 0)
        senses.setdefault(word.get("form", "").lower(), []).append((polarity, float(word.get("intensity") or 1)))
    rules = _RULES[language]
    polarity, intensity = {}, dict(rules.intensifiers)
    for form, values in senses.items():
        mean_polarity = sum(p for p, _ in values) / len(values)
        mean_intensity = sum(i for _, i in values) / len(values)
        if mean_polarity:  # words of polarity 0 would only dilute the average
            polarity[form] = mean_polarity
        if mean_intensity != 1.0 and form not in intensity:
            intensity[form] = mean_intensity
    return _Lexicon(polarity, intensity, rules)


def _pattern_sentence(sentence: str, lexicon: _Lexicon) -> float:
    """Mean polarity of a sentence's sentiment words, each scaled by a preceding intensifier and flipped by negation.

    An intensifier counts only right before a sentiment word (and then not as a sentiment word itself);
    a negation applies to the first sentiment word within `NEGATION_WINDOW` tokens, inside the same clause.
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
    return sum(scores) / len(scores) if scores else 0.0


@functools.cache
def _sentence_scorer(language: str) -> tuple[Callable[[str], float], str]:
    """The per-sentence scoring function for a supported language and its method name, loaded once per process."""
    if language == "en":
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        analyzer = SentimentIntensityAnalyzer()
        version = importlib.metadata.version("vaderSentiment")
        return (lambda sentence: analyzer.polarity_scores(sentence)["compound"]), f"vader-{version}"
    lexicon = _pattern_lexicon(language)
    return functools.partial(_pattern_sentence, lexicon=lexicon), f"pattern-{language}-lexicon"


def _sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_BREAK.split(text[:MAX_CHARS].strip()) if s]


class SentimentScorer:
    """Scores article text in the languages it has a lexicon for; lexicons load on first use per language."""

    supported_languages: frozenset[str] = frozenset({"en", "nl", "fr", "de"})

    def score(self, text: str, language: str | None) -> Sentiment | None:
        """Sentiment of the text, or None when it cannot be scored: unsupported language or no text."""
        code = normalise_language_tag(language)
        if code not in self.supported_languages or not text or not text.strip():
            return None
        score_sentence, method = _sentence_scorer(code)
        sentences = _sentences(text)
        score = round(max(-1.0, min(1.0, sum(map(score_sentence, sentences)) / len(sentences))), 4)
        return Sentiment(score, label_for(score), method)
