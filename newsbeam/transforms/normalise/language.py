"""Article language: declared tags normalised to ISO 639-1, and detection from the text with lingua."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import lingua

UNDETERMINED = "und"

# ISO 639-1 code -> ISO 639-2/T code (identical to ISO 639-3 for these languages).
_ISO_639_1_TO_2T = dict(
    pair.split(":")
    for pair in """
    aa:aar ab:abk ae:ave af:afr ak:aka am:amh an:arg ar:ara as:asm av:ava ay:aym az:aze ba:bak be:bel bg:bul
    bi:bis bm:bam bn:ben bo:bod br:bre bs:bos ca:cat ce:che ch:cha co:cos cr:cre cs:ces cu:chu cv:chv cy:cym
    da:dan de:deu dv:div dz:dzo ee:ewe el:ell en:eng eo:epo es:spa et:est eu:eus fa:fas ff:ful fi:fin fj:fij
    fo:fao fr:fra fy:fry ga:gle gd:gla gl:glg gn:grn gu:guj gv:glv ha:hau he:heb hi:hin ho:hmo hr:hrv ht:hat
    hu:hun hy:hye hz:her ia:ina id:ind ie:ile ig:ibo ii:iii ik:ipk io:ido is:isl it:ita iu:iku ja:jpn jv:jav
    ka:kat kg:kon ki:kik kj:kua kk:kaz kl:kal km:khm kn:kan ko:kor kr:kau ks:kas ku:kur kv:kom kw:cor ky:kir
    la:lat lb:ltz lg:lug li:lim ln:lin lo:lao lt:lit lu:lub lv:lav mg:mlg mh:mah mi:mri mk:mkd ml:mal mn:mon
    mr:mar ms:msa mt:mlt my:mya na:nau nb:nob nd:nde ne:nep ng:ndo nl:nld nn:nno no:nor nr:nbl nv:nav ny:nya
    oc:oci oj:oji om:orm or:ori os:oss pa:pan pi:pli pl:pol ps:pus pt:por qu:que rm:roh rn:run ro:ron ru:rus
    rw:kin sa:san sc:srd sd:snd se:sme sg:sag si:sin sk:slk sl:slv sm:smo sn:sna so:som sq:sqi sr:srp ss:ssw
    st:sot su:sun sv:swe sw:swa ta:tam te:tel tg:tgk th:tha ti:tir tk:tuk tl:tgl tn:tsn to:ton tr:tur ts:tso
    tt:tat tw:twi ty:tah ug:uig uk:ukr ur:urd uz:uzb ve:ven vi:vie vo:vol wa:wln wo:wol xh:xho yi:yid yo:yor
    za:zha zh:zho zu:zul
    """.split()
)
# ISO 639-2/B (bibliographic) codes that differ from the /T ones, plus withdrawn 639-1 codes still seen in feeds.
_ALIASES = {
    "alb": "sq", "arm": "hy", "baq": "eu", "bur": "my", "chi": "zh", "cze": "cs", "dut": "nl", "fre": "fr",
    "geo": "ka", "ger": "de", "gre": "el", "ice": "is", "mac": "mk", "mao": "mi", "may": "ms", "per": "fa",
    "rum": "ro", "slo": "sk", "tib": "bo", "wel": "cy", "scc": "sr", "scr": "hr",
    "iw": "he", "in": "id", "ji": "yi", "jw": "jv", "mo": "ro",
}  # fmt: skip
# Norwegian Bokmål and Nynorsk fold into the macrolanguage, so declared and detected codes agree.
_FOLD = {"nb": "no", "nn": "no"}
_TO_639_1 = {
    **{code: code for code in _ISO_639_1_TO_2T},
    **{t: code for code, t in _ISO_639_1_TO_2T.items()},
    **_ALIASES,
}
_LANGUAGE_SUBTAG = re.compile(r"[a-z]{2,3}")
_OTHER_SUBTAG = re.compile(r"[a-z0-9]{1,8}")


def normalise_language_tag(tag: str | None) -> str | None:
    """A declared language (`nl-NL`, `en_US`, `fre`, `deu`) as a lower-case ISO 639-1 code, or None if unusable.

    Only the primary subtag counts; the rest must still look like BCP 47 subtags, so junk such as
    `xx-yy-zz-!!` or `../../x` is rejected. Codes outside ISO 639-1/639-2 give None, so the result
    is always `[a-z]{2}` and safe in a file path. `nb`/`nn` fold to `no`.
    """
    if not tag:
        return None
    subtags = tag.strip().lower().replace("_", "-").split("-")
    primary, rest = subtags[0], subtags[1:]
    if not _LANGUAGE_SUBTAG.fullmatch(primary) or not all(_OTHER_SUBTAG.fullmatch(s) for s in rest):
        return None
    code = _TO_639_1.get(primary)
    return _FOLD.get(code, code) if code else None


# Candidates: the EU/EEA languages, the other large European ones, and the most-published world languages.
DEFAULT_LANGUAGES: tuple[str, ...] = (
    "nl", "en", "fr", "de", "es", "it", "pt", "ca", "eu", "ga", "cy",
    "da", "sv", "nb", "nn", "fi", "is", "et", "lv", "lt",
    "pl", "cs", "sk", "sl", "hr", "sr", "bs", "hu", "ro", "bg", "el", "sq", "mk",
    "ru", "uk", "be", "tr", "ar", "he", "fa", "hi", "ur", "bn", "zh", "ja", "ko", "vi", "id", "ms", "th", "sw",
)  # fmt: skip

# The languages the pipeline must cover at least: half the memory and build time of the default set.
CORE_LANGUAGES: tuple[str, ...] = (
    "nl", "en", "fr", "de", "es", "it", "pt", "ru", "pl", "sv", "da", "nb", "nn", "fi", "cs", "uk",
    "tr", "ar", "zh", "ja",
)  # fmt: skip

# What `--language-detection` chooses: LanguageDetector options by name (see its docstring for the policy).
DETECTION_MODES: dict[str, dict] = {
    "refined": {},  # low-accuracy models, short or word-poor samples re-scored by high-accuracy ones
    "fast": {"low_accuracy": True},  # low-accuracy models only: ~60 MB, nothing loaded later
    "accurate": {"accurate_below": None},  # high-accuracy models for every sample: ~1.1 GB over 51 languages
}


def unsupported_languages(codes: Iterable[str]) -> list[str]:
    """The codes lingua cannot detect (`no` counts as supported: it stands for Bokmål and Nynorsk)."""
    from lingua import IsoCode639_1

    return sorted(code for code in codes if code != "no" and not hasattr(IsoCode639_1, code.upper()))


# One lingua detector per configuration per process: Beam runs several DoFn instances per worker, and a
# high-accuracy detector over the default languages holds ~1 GB of n-gram models. Keys are
# (languages, low accuracy, preloaded); lingua itself caches each language's models process-wide.
_SHARED: dict[tuple[tuple[str, ...], bool, bool], lingua.LanguageDetector] = {}
_SHARED_LOCK = threading.Lock()
_WORD_EDGES = ".,;:!?()[]{}\"'«»“”‘’"


def _shared(key: tuple[tuple[str, ...], bool, bool]) -> lingua.LanguageDetector:
    detector = _SHARED.get(key)
    if detector is None:
        with _SHARED_LOCK:
            detector = _SHARED.get(key)
            if detector is None:
                detector = _SHARED[key] = _build(*key)
    return detector


class Refinement(NamedTuple):
    """A sample of a first pass that the high-accuracy models of `codes` score again."""

    index: int
    sample: str
    hint: str | None
    codes: tuple[str, ...]


# Codes whose high-accuracy models this process has loaded for refinement (lingua keeps them process-wide).
_ACCURATE: set[str] = set()


def _preload_accurate(codes: set[str]) -> None:
    """Load the high-accuracy models of the `codes` not loaded yet in one call, which lingua spreads over its
    threads: on 268 refined Reuters samples 2.9 s on two cores instead of 5.2 s one by one, for +45 MB."""
    if codes <= _ACCURATE:
        return
    with _SHARED_LOCK:  # bundle threads of one worker must not load the same models twice
        missing = codes - _ACCURATE
        if missing:
            _build(tuple(sorted(missing)), False, True)
            _ACCURATE.update(missing)


class LanguageDetector:
    """Detects the language of article text with lingua over a fixed set of candidate languages.

    Policy of `detect`:
    - only the first `max_chars` characters are read (cut at a space), which is plenty for the n-gram models;
    - text with fewer than `min_letters` letters, or that lingua cannot score, is `("und", None)`;
    - lingua's relative confidence of the best candidate is returned; below `min_confidence`, or for a
      refined sample (see below) below `min_margin` times the runner-up's, the text is ambiguous and
      gives `("und", 0.0)`, unless the hint settles it (confidences shared among a few refined candidates
      are high even for a tie, so there the margin is what tells a clear winner);
    - the hint (a declared language, normalised) is taken, with its own confidence, when it is a candidate
      whose confidence is at least `hint_ratio` times the best one's: it settles near-ties and ambiguous
      short texts but never overrides a clear detection (with the default 0.5, a best candidate above 2/3
      cannot be overridden).
    Codes are ISO 639-1 with `nb`/`nn` folded to `no`, like `normalise_language_tag`.

    Accuracy: lingua's low-accuracy models score every sample; they build in about a second and are as
    accurate as the high-accuracy ones on running prose (benchmarks/results/language_detection.md). Where
    they are unreliable, on samples shorter than `accurate_below` characters (headlines, teasers) or with
    less than `min_word_share` of alphabetic tokens (tables of figures, which they label Lithuanian or
    French with high confidence), the sample is scored again by the high-accuracy models of its
    `refine_candidates` best candidates (plus the hint). Those models load per language when a batch first
    needs them (all of a batch's in one parallel call) and lingua shares them process-wide, so a worker
    never holds all of them (~1.1 GB, ~4 s to build on two threads).
    `accurate_below=None` scores everything with the full high-accuracy set; `low_accuracy=True` never refines.

    Nothing is loaded until the first `detect` (or `load`); detectors with the same configuration share one
    lingua detector per process. `detect_many` scores a batch with lingua's parallel call, on as many threads
    as `RAYON_NUM_THREADS` allows (the detection DoFn's helper process runs it on one).
    """

    def __init__(
        self,
        languages: Iterable[str] = DEFAULT_LANGUAGES,
        *,
        low_accuracy: bool = False,
        accurate_below: int | None = 100,
        min_word_share: float = 0.75,
        refine_candidates: int = 5,
        max_chars: int = 1000,
        min_letters: int = 3,
        min_confidence: float = 0.2,
        min_margin: float = 1.5,
        hint_ratio: float = 0.5,
    ):
        self.languages = tuple(sorted({code.lower() for code in languages}))
        if not self.languages:
            raise ValueError("no candidate languages")
        self._codes = frozenset(_FOLD.get(code, code) for code in self.languages)
        self.low_accuracy = low_accuracy
        self.accurate_below = accurate_below
        self.min_word_share = min_word_share
        self.refine_candidates = refine_candidates
        self.max_chars = max_chars
        self.min_letters = min_letters
        self.min_confidence = min_confidence
        self.min_margin = min_margin
        self.hint_ratio = hint_ratio

    def load(self) -> lingua.LanguageDetector:
        """The shared lingua detector that scores every sample, built on first call (what DoFn.setup should warm)."""
        return self._detector(low=self.low_accuracy or self.accurate_below is not None)

    def _detector(self, *, low: bool) -> lingua.LanguageDetector:
        return _shared((self.languages, low, True))

    def _needs_refining(self, sample: str) -> bool:
        if self.low_accuracy or self.accurate_below is None:
            return False
        if len(sample) < self.accurate_below:
            return True
        tokens = sample.split()
        words = sum(token.strip(_WORD_EDGES).isalpha() for token in tokens)
        return words < self.min_word_share * len(tokens)

    def _refinement(self, sample: str, values: list, hint: str | None) -> tuple[str, ...] | None:
        """The codes whose high-accuracy models score the sample again, or None when it is not refined."""
        if not self._needs_refining(sample):
            return None
        candidates = {_code(value.language) for value in values[: self.refine_candidates] if value.value > 0.0}
        if hint in self._codes:
            candidates.add(hint)
        return tuple(sorted(candidates)) if len(candidates) > 1 else None

    @staticmethod
    def _scores(values: list) -> dict[str, float]:
        """Confidence per code from lingua's confidence values."""
        scores: dict[str, float] = {}
        for value in values:
            code = _code(value.language)  # several lingua languages may fold into one code (nb, nn -> no)
            scores[code] = min(1.0, scores.get(code, 0.0) + value.value)
        return scores

    def detect(self, text: str, hint: str | None = None) -> tuple[str, float | None]:
        """ISO 639-1 code and confidence in [0, 1]; `("und", None)` without signal, `("und", 0.0)` when ambiguous."""
        return self.detect_many([text], [hint])[0]

    def detect_many(self, texts: Sequence[str], hints: Sequence[str | None]) -> list[tuple[str, float | None]]:
        """`detect` for each text with its hint; the first pass scores the whole batch in parallel."""
        results, refinements = self.first_pass(texts, hints)
        for i, result in self.refine(refinements).items():
            results[i] = result
        return results

    def first_pass(self, texts: Sequence[str], hints: Sequence[str | None]) -> tuple[list, list[Refinement]]:
        """The low-accuracy pass over a batch: the result of each text that needs no refining, None for each
        that does, and what `refine` needs to finish those (a caller may emit the others first)."""
        samples = [_prefix(text or "", self.max_chars) for text in texts]
        scorable = [i for i, sample in enumerate(samples) if sum(ch.isalpha() for ch in sample) >= self.min_letters]
        values = []
        if scorable:
            values = self.load().compute_language_confidence_values_in_parallel([samples[i] for i in scorable])
        results: list[tuple[str, float | None] | None] = [(UNDETERMINED, None)] * len(samples)
        refinements = []
        for i, sample_values in zip(scorable, values):
            hint = normalise_language_tag(hints[i])
            codes = self._refinement(samples[i], sample_values, hint)
            if codes is None:
                results[i] = self._decide(self._scores(sample_values), False, hint)
            else:
                results[i] = None
                refinements.append(Refinement(i, samples[i], hint, codes))
        return results, refinements

    def load_refinement_models(self, refinements: Sequence[Refinement], at_most: int) -> bool:
        """Load at most `at_most` of the high-accuracy models these refinements need and this process lacks;
        True when none is missing any more (a caller with other work can load them in steps)."""
        missing = sorted(_codes_of(refinements) - _ACCURATE)
        if missing:
            _preload_accurate(set(missing[:at_most]))
        return len(missing) <= at_most

    def refine(self, refinements: Sequence[Refinement]) -> dict[int, tuple[str, float | None]]:
        """The results of a first pass's refined texts, by index; the high-accuracy models not loaded yet (by
        `load_refinement_models`) load here, in one parallel build."""
        _preload_accurate(_codes_of(refinements))
        results = {}
        for r in refinements:
            values = _shared((r.codes, False, False)).compute_language_confidence_values(r.sample)
            results[r.index] = self._decide(self._scores(values), True, r.hint)
        return results

    def _decide(self, scores: dict[str, float], refined: bool, hinted: str | None) -> tuple[str, float | None]:
        best_code = max(scores, key=scores.__getitem__, default=UNDETERMINED)
        best = scores.get(best_code, 0.0)
        if best <= 0.0:
            return UNDETERMINED, None
        hint_value = scores.get(hinted, 0.0) if hinted else 0.0
        if hint_value > 0.0 and hint_value >= self.hint_ratio * best:
            return hinted, hint_value  # the hint agrees with the best candidate or breaks a near-tie
        runner_up = max((value for code, value in scores.items() if code != best_code), default=0.0)
        if best < self.min_confidence or (refined and best < self.min_margin * runner_up):
            return UNDETERMINED, 0.0
        return best_code, best


def _codes_of(refinements: Iterable[Refinement]) -> set[str]:
    return {code for refinement in refinements for code in refinement.codes}


def _build(languages: tuple[str, ...], low_accuracy: bool, preload: bool) -> lingua.LanguageDetector:
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    # lingua knows Norwegian only as its two written standards.
    expanded = {split for code in languages for split in (("nb", "nn") if code == "no" else (code,))}
    unknown = unsupported_languages(expanded)
    if unknown:
        raise ValueError(f"lingua does not support languages {unknown}")
    codes = [getattr(IsoCode639_1, code.upper()) for code in sorted(expanded)]
    builder = LanguageDetectorBuilder.from_iso_codes_639_1(*codes)
    if low_accuracy:
        builder = builder.with_low_accuracy_mode()
    return (builder.with_preloaded_language_models() if preload else builder).build()


def _code(language) -> str:
    code = language.iso_code_639_1.name.lower()
    return _FOLD.get(code, code)


def _prefix(text: str, max_chars: int) -> str:
    """At most `max_chars` characters of the stripped text, cut at the last whitespace when there is one."""
    text = text.strip()
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    space = cut.rfind(" ", max_chars // 2)
    return cut[:space] if space > 0 else cut
