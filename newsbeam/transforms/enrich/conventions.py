"""News-annotation conventions on any pipeline's entities: what a news reader expects a name to be.

CoNLL-2002/2003, the conventions of news annotation, tag nationalities, demonyms and language adjectives as MISC
(``Russische``, ``Britse``, ``deutsche``, ``américain``, ``Russians``) and a seat of government used for the
government as ORG (``het Kremlin``, ``the White House``, ``l'Élysée``). Statistical models trained partly on
Wikipedia links (WikiANN) still tag ``Britse`` LOC, miss ``Kremlin`` as an institution, and now and then run a span
over a sentence end (``Clingendael-instituut. “Er``) or past a name into its function words (``Dick Zandee van
het``), and in context miss a name after a title (``President Poetin zou ...``). ``conform`` applies the
conventions to a Doc's entities after the model, with the curated, inflected word lists of the article's language
below; the training data goes through the same demonym and seat lists (``training/ner/conventions.py``).

Matching is on whole tokens, case-sensitive: Dutch, English and the nouns of French and German are capitalised;
the French and German adjectives are matched in lower case (and capitalised, as at a sentence start). Words that
are also a country name (nl ``Polen``, ``Zweden``; de ``Polen``, ``Schweden``, ``Ungarn``; fr ``Suisse``) are left
out, and each language has its own list (German ``Japans`` is the genitive of Japan, Dutch ``Japans`` an
adjective).
"""

from __future__ import annotations

from collections.abc import Callable

from spacy.tokens import Doc, Span

from newsbeam.transforms.enrich.labels import normalise_label

VERSION = "news-2"  # recorded in `ner_model` after the pipeline's version; raised when the rules change


def _forms(spec):
    """Expand 'stem:ending,ending' groups into the set of word forms."""
    words = set()
    for group in spec.split():
        stem, _, endings = group.partition(":")
        for ending in (endings.split(",") if endings else [""]):
            words.add(stem + ("" if ending == "0" else ending))
    return words


NL = _forms(
    "Russisch:0,e Rus Russen Brits:0,e Brit Britten Oekraïens:0,e Oekraïner:0,s "
    "Nederlands:0,e Nederlander:0,s Duits:0,e Duitser:0,s Frans:0,e Fransman Fransen Française "
    "Amerikaans:0,e Amerikaan:0,en Amerikanen Belgisch:0,e Belg:0,en Europees Europese Europeaan "
    "Europeanen Chinees Chinese Chinezen Japans:0,e Japanner:0,s Italiaans:0,e Italiaan Italianen "
    "Spaans:0,e Spanjaard:0,en Pools:0,e Turks:0,e Turk:0,en Iraans:0,e Iraniër:0,s "
    "Israëlisch:0,e Israëliër:0,s Palestijns:0,e Palestijn:0,en Syrisch:0,e Syriër:0,s "
    "Engels:0,e Engelsman Engelsen Vlaams:0,e Vlaming:0,en Waals:0,e Canadees Canadese Canadezen "
    "Australisch:0,e Australiër:0,s Indiaas Indiase Indiër:0,s Zweeds:0,e Zweed Noors:0,e Noren "
    "Deens:0,e Deen Denen Fins:0,e Finnen Grieks:0,e Griek:0,en Portugees Portugese Portugezen "
    "Oostenrijks:0,e Oostenrijker:0,s Zwitsers:0,e Zwitser:0,s Hongaars:0,e Hongaar:0,en "
    "Tsjechisch:0,e Tsjech:0,en Georgisch:0,e Georgiër:0,s Arabisch:0,e Arabier:0,en "
    "Afrikaans:0,e Afrikaan:0,en Afrikanen Aziatisch:0,e Mexicaans:0,e Braziliaans:0,e "
    "Koreaans:0,e Afghaans:0,e Irakees Irakese Irakezen Egyptisch:0,e Iers:0,e Schots:0,e "
    "Marokkaans:0,e Marokkaan Marokkanen Surinaams:0,e Surinamer:0,s Sovjet:0 "
    "Wit-Russisch:0,e Belarussisch:0,e Servisch:0,e Kroatisch:0,e Roemeens:0,e Bulgaars:0,e "
    "Litouws:0,e Lets:0,e Ests:0,e Sloveens:0,e Slowaaks:0,e Joods:0,e Jood Joden "
    "Islamitisch:0,e Christelijk:0,e")

EN = _forms(
    "Russian:0,s British Briton:0,s Brit:0,s Ukrainian:0,s Dutch Dutchman Dutchmen German:0,s "
    "French Frenchman Frenchmen American:0,s Belgian:0,s European:0,s Chinese Japanese "
    "Italian:0,s Spanish Spaniard:0,s Polish Turkish Turk:0,s Iranian:0,s Israeli:0,s "
    "Palestinian:0,s Syrian:0,s English Englishman Flemish Canadian:0,s Australian:0,s "
    "Indian:0,s Swedish Swede:0,s Norwegian:0,s Danish Dane:0,s Finnish Greek:0,s Portuguese "
    "Austrian:0,s Swiss Hungarian:0,s Czech:0,s Belarusian:0,s Georgian:0,s Arab:0,s Arabic "
    "African:0,s Asian:0,s Mexican:0,s Brazilian:0,s Korean:0,s Afghan:0,s Iraqi:0,s "
    "Egyptian:0,s Irish Scottish Scot:0,s Welsh Soviet:0,s Moroccan:0,s Serbian:0,s Serb:0,s "
    "Croatian:0,s Romanian:0,s Bulgarian:0,s Lithuanian:0,s Latvian:0,s Estonian:0,s "
    "Slovak:0,s Slovenian:0,s Jewish Muslim:0,s Islamic Catholic:0,s "
    "Protestant:0,s Sunni:0,s Shia Shiite:0,s Kurdish Kurd:0,s Latino:0,s Hispanic:0,s "
    "Pakistani:0,s Nigerian:0,s Kenyan:0,s Venezuelan:0,s Argentine:0,s Argentinian:0,s "
    "Chilean:0,s Colombian:0,s Cuban:0,s Vietnamese Thai Indonesian:0,s Filipino:0,s "
    "Latin")

_FR_ADJ = (
    "russe:0,s britannique:0,s ukrainien:0,s,ne,nes néerlandais:0,e,es allemand:0,s,e,es "
    "français:0,e,es américain:0,s,e,es belge:0,s européen:0,s,ne,nes chinois:0,e,es "
    "japonais:0,e,es italien:0,s,ne,nes espagnol:0,s,e,es polonais:0,e,es turc:0,s turque:0,s "
    "iranien:0,s,ne,nes israélien:0,s,ne,nes palestinien:0,s,ne,nes syrien:0,s,ne,nes "
    "anglais:0,e,es flamand:0,s,e,es wallon:0,s,ne,nes canadien:0,s,ne,nes "
    "australien:0,s,ne,nes suédois:0,e,es norvégien:0,s,ne,nes danois:0,e,es "
    "finlandais:0,e,es grec:0,s grecque:0,s portugais:0,e,es autrichien:0,s,ne,nes "
    "hongrois:0,e,es tchèque:0,s biélorusse:0,s géorgien:0,s,ne,nes arabe:0,s "
    "africain:0,s,e,es asiatique:0,s mexicain:0,s,e,es brésilien:0,s,ne,nes coréen:0,s,ne,nes "
    "afghan:0,s,e,es irakien:0,s,ne,nes égyptien:0,s,ne,nes irlandais:0,e,es écossais:0,e,es "
    "soviétique:0,s marocain:0,s,e,es algérien:0,s,ne,nes tunisien:0,s,ne,nes "
    "québécois:0,e,es serbe:0,s croate:0,s roumain:0,s,e,es bulgare:0,s")
FR = _forms(_FR_ADJ) | {w[:1].upper() + w[1:] for w in _forms(_FR_ADJ)}

_DE_ADJ_STEMS = (
    "russisch britisch ukrainisch niederländisch holländisch deutsch französisch amerikanisch "
    "belgisch europäisch chinesisch japanisch italienisch spanisch polnisch türkisch iranisch "
    "israelisch palästinensisch syrisch englisch flämisch kanadisch australisch indisch "
    "schwedisch norwegisch dänisch finnisch griechisch portugiesisch österreichisch "
    "schweizerisch ungarisch tschechisch weißrussisch belarussisch georgisch arabisch "
    "afrikanisch asiatisch mexikanisch brasilianisch koreanisch afghanisch irakisch ägyptisch "
    "irisch schottisch sowjetisch marokkanisch serbisch kroatisch rumänisch bulgarisch "
    "jüdisch islamisch").split()
_DE_ADJ = {s + e for s in _DE_ADJ_STEMS for e in ("", "e", "en", "er", "es", "em")}
DE = _DE_ADJ | {w[:1].upper() + w[1:] for w in _DE_ADJ} | _forms(
    "Russe:0,n Russin:0,nen Brite:0,n Britin:0,nen Ukrainer:0,n,in,innen "
    "Niederländer:0,n,in,innen Holländer:0,n Franzose:0,n Französin:0,nen "
    "Amerikaner:0,n,in,innen Belgier:0,n Europäer:0,n,in Chinese:0,n Japaner:0,n "
    "Italiener:0,n Spanier:0,n Türke:0,n Iraner:0,n Israeli:0,s Palästinenser:0,n "
    "Syrer:0,n Engländer:0,n Kanadier:0,n Australier:0,n Inder:0,n Schwede "
    "Norweger:0,n Däne:0,n Finne:0,n Grieche:0,n Portugiese:0,n Österreicher:0,n,in,innen "
    "Schweizer:0,n,in Tscheche:0,n Georgier:0,n Araber:0,n Afrikaner:0,n Asiate:0,n "
    "Afghane:0,n Iraker:0,n Ägypter:0,n Iren Schotte:0,n Marokkaner:0,n Serbe:0,n "
    "Kroate:0,n Rumäne:0,n Bulgare:0,n Jude:0,n Jüdin Muslim:0,e,en Muslime Katholik:0,en")

DEMONYMS = {"nl": NL, "en": EN, "fr": FR, "de": DE}

# A seat of government named for the government (news: ORG).  Token sequences
# as the gold files and the news tokenizer split them.
SEATS = [tuple(s.split()) for s in (
    "Kremlin", "Kreml", "Witte Huis", "White House", "Weißes Haus", "Weiße Haus",
    "Weißen Haus", "Maison Blanche", "Maison - Blanche", "Élysée", "Elysée", "Elysee",
    "Matignon", "Downing Street", "Pentagon", "Quai d'Orsay", "Whitehall", "Binnenhof",
    "Torentje", "Kanzleramt", "Bundeskanzleramt", "Zhongnanhai")]


_SEAT_SET = frozenset(SEATS)
_SEATS_BY_FIRST_WORD: dict[str, list[tuple[str, ...]]] = {}
for _seat in sorted(SEATS, key=len, reverse=True):  # the longest seat starting at a word first
    _SEATS_BY_FIRST_WORD.setdefault(_seat[0], []).append(_seat)

# Words that never end a name: a span ending in one ran past the name (``Dick Zandee van het``).
_FUNCTION_WORDS = {
    "nl": frozenset("van de het der den en in op uit voor bij met aan te tot over".split()),
    "en": frozenset("of the and in at for on to a an by from with".split()),
    "fr": frozenset("de du des la le les l' d' et à au aux en sur pour par avec".split()),
    "de": frozenset("von der die das den dem des und in im am an zu zum zur für aus bei mit vom auf".split()),
}
# Words that put a person's name after them (``President Poetin``, ``Bundeskanzlerin Merkel``, ``M. Macron``),
# lower case and without a full stop; CoNLL leaves the title out of the name.  English ``premier`` and
# ``general`` are left out (``Premier League``, ``General Motors``).
TITLES = {
    "nl": frozenset(
        "president presidente premier minister minister-president staatssecretaris burgemeester kanselier "
        "bondskanselier koning koningin prins prinses paus generaal woordvoerder senator gouverneur "
        "oud-premier oud-president ex-president dr prof mr drs ir jhr dhr heer mevrouw mevr meneer".split()),
    "en": frozenset(
        "president minister chancellor senator sen governor gov mayor king queen prince princess pope "
        "mr mrs ms dr prof secretary spokesman spokeswoman rep ambassador".split()),
    "fr": frozenset(
        "président présidente ministre chancelier chancelière roi reine prince princesse pape maire "
        "sénateur sénatrice général porte-parole m mme mlle dr pr".split()),
    "de": frozenset(
        "präsident präsidentin bundespräsident bundespräsidentin bundeskanzler bundeskanzlerin kanzler "
        "kanzlerin minister ministerin ministerpräsident ministerpräsidentin bürgermeister "
        "bürgermeisterin oberbürgermeister oberbürgermeisterin könig königin prinz prinzessin papst "
        "sprecher sprecherin direktor direktorin herr frau dr prof".split()),
}
_SENTENCE_ENDS = frozenset(".!?…")
_OPENERS = frozenset("\"“„«‘‚‹'(")
_CLOSERS = frozenset(")]")


def conform(doc: Doc, language: str, is_country: Callable[[str], bool] | None = None) -> list[Span]:
    """The Doc's entities under the news conventions of `language` (a language without lists: spans trimmed only).

    Each predicted span is cut at a sentence end inside it and trimmed of edge punctuation and trailing function
    words; a span that is one demonym becomes MISC and one that is a seat of government ORG; demonyms and seats
    the model left untagged are added, so are untagged capitalised names after a title of the language as PER
    (``President Poetin``), and with `is_country`, capitalised names of one to three words it accepts
    (``zou Oekraïne de troepen``, ``In the United States alone``). Spans inside a longer name (``Russische
    ministerie van Defensie``) keep it.
    """
    demonyms = DEMONYMS.get(language, frozenset())
    function_words = _FUNCTION_WORDS.get(language, frozenset())
    words = [token.text for token in doc]
    entities = []
    for ent in doc.ents:
        start, end = _trimmed(doc, *_first_sentence(doc, ent.start, ent.end), function_words)
        if start >= end:
            continue
        name = tuple(words[start:end])
        label = "MISC" if len(name) == 1 and name[0] in demonyms else "ORG" if name in _SEAT_SET else ent.label_
        entities.append(Span(doc, start, end, label=label))
    taken = {i for span in entities for i in range(span.start, span.end)}
    for i, word in enumerate(words):
        if i in taken:
            continue
        if word in demonyms:
            entities.append(Span(doc, i, i + 1, label="MISC"))
            taken.add(i)
        for seat in _SEATS_BY_FIRST_WORD.get(word, ()):
            end = i + len(seat)
            if tuple(words[i:end]) == seat and taken.isdisjoint(range(i, end)):
                entities.append(Span(doc, i, end, label="ORG"))
                taken.update(range(i, end))
                break
    entities += _titled_names(doc, words, taken, TITLES.get(language, frozenset()), demonyms)
    if is_country is not None:
        entities += _untagged_countries(doc, words, taken, is_country)
    return sorted(entities, key=lambda span: span.start)


def _titled_names(doc: Doc, words: list[str], taken: set[int], titles: frozenset, demonyms) -> list[Span]:
    """PER spans for the untagged capitalised runs of up to three words after a title or a chain of them
    (``President Poetin``, ``Mr. Smith``, ``de heer Mr. Van Hall``); the runs are added to `taken`."""
    if not titles:
        return []
    # French ``M.`` is a title, the unit ``m`` is not: a one-letter title must be upper case.
    is_title = [(w := word.rstrip(".")).lower() in titles and (len(w) > 1 or w.isupper()) for word in words]
    found, after = [], 0  # `after`: the first word not yet inside a found name
    for i in (i for i, flag in enumerate(is_title) if flag):
        if i < after or (i > 0 and is_title[i - 1]):
            continue  # inside a name, or a later title of a chain (the chain's first title reads it)
        start = i
        while start < len(words) and (is_title[start] or (start > i and words[start] == ".")):
            start += 1
        end = start
        while (end < min(start + 3, len(words)) and end not in taken and not is_title[end]
               and _is_name_word(words[end], demonyms)):
            end += 1
        if end > start:
            found.append(Span(doc, start, end, label="PER"))
            taken.update(range(start, end))
            after = end
    return found


def _is_name_word(word: str, demonyms) -> bool:
    """A capitalised word that can be part of a name (``Poetin``, ``Willem-Alexander``; not ``Russische``)."""
    return word[:1].isupper() and word.replace("-", "").replace("'", "").isalpha() and word not in demonyms


def _untagged_countries(doc: Doc, words: list[str], taken: set[int], is_country: Callable[[str], bool]) -> list[Span]:
    """LOC spans for the capitalised runs of up to three words outside `taken` that `is_country` accepts, longest
    first."""
    text, starts = doc.text, [token.idx for token in doc]  # Doc.text is rebuilt on every access

    def country_end(i: int) -> int | None:
        for end in range(min(i + 3, len(words)), i, -1):
            name = text[starts[i] : starts[end - 1] + len(words[end - 1])]
            if words[end - 1][:1].isupper() and taken.isdisjoint(range(i, end)) and is_country(name):
                return end
        return None

    found, i = [], 0
    while i < len(words):
        end = country_end(i) if words[i][:1].isupper() and i not in taken else None
        if end:
            found.append(Span(doc, i, end, label="LOC"))
        i = end or i + 1
    return found


def labels_written(model_labels: list[str], language: str) -> list[str]:
    """The entity labels rows carry for `language`: the model's, normalised, plus those the conventions add."""
    labels = {normalise_label(label) for label in model_labels} - {None}
    if language in DEMONYMS:
        labels |= {"MISC", "ORG"}
    return sorted(labels)


def _first_sentence(doc: Doc, start: int, end: int) -> tuple[int, int]:
    """Token range of the span up to a sentence end inside it: ``.``, ``!`` or ``?`` before an opening quote, or
    after a lower-case word of five or more letters and before a capital.

    Tokenizers split the full stop off abbreviations and initials (``Jhr. P. van der Wijck``, ``geb. Robben``,
    ``Matth.``), which are short or capitalised, so those do not end a sentence here.
    """
    for i in range(start + 1, end - 1):
        previous, following = doc[i - 1].text, doc[i + 1].text
        if doc[i].text not in _SENTENCE_ENDS:
            continue
        if following[:1] in _OPENERS or (
            following[:1].isupper() and len(previous) >= 5 and previous.isalpha() and previous.islower()
        ):
            return start, i
    return start, end


def _trimmed(doc: Doc, start: int, end: int, function_words: frozenset) -> tuple[int, int]:
    """The range without punctuation at its edges (a closing bracket opened inside stays) or trailing
    function words."""
    while start < end and doc[start].is_punct:
        start += 1
    while start < end:
        last = doc[end - 1]
        opened = last.text in _CLOSERS and any(t.text in "([" for t in doc[start : end - 1])
        if (last.is_punct and not opened) or last.text in function_words:
            end -= 1
        else:
            break
    return start, end
