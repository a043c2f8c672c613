"""Tokenizer rules for raw news text, shared by corpus preparation and training.

spaCy's multilingual (`xx`) tokenizer already splits curly quotes (‘ ’ “ ”),
hyphenated compounds (``Clingendael-instituut`` -> ``Clingendael - instituut``)
and the ``’s`` suffix, but it has no French elision rule, so ``l’Ukraine`` or
``d’Espagne`` would stay one token and a name could never be tagged on its own.
``customize`` adds the elided articles/pronouns as prefixes.

The rules end up in the saved ``tokenizer`` file, so a shipped pipeline loads
without this module; it is needed only to build the corpus and to initialise
training (``--code training/ner/news_tokenizer.py``, callback in config.cfg).
"""
import spacy
from spacy.util import compile_prefix_regex

ELISIONS = [
    r"[cCdDjJlLmMnNsStT]['’](?=\w)",
    r"(?:[qQ]u|[jJ]usqu|[lL]orsqu|[pP]uisqu)['’](?=\w)",
]


def customize(nlp):
    """Add elision prefixes to nlp's tokenizer, in place; return nlp."""
    prefixes = ELISIONS + list(nlp.Defaults.prefixes)
    nlp.tokenizer.prefix_search = compile_prefix_regex(prefixes).search
    return nlp


def blank():
    """A blank `xx` pipeline with the news tokenizer."""
    return customize(spacy.blank("xx"))


@spacy.registry.callbacks("newsbeam.news_tokenizer.v1")
def create_before_init():
    """Config callback for [initialize.before_init]."""
    return customize
