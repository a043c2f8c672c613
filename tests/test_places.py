"""Places: LOC entities resolved to GeoNames places offline, in a real Beam pipeline and through the real NER model;
and Parquet files of schema 1.0 read together with 1.2 ones."""

import apache_beam as beam
import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from newsbeam.cli import main
from newsbeam.pipelines.runner import OfflineDirectRunner
from newsbeam.schemas import ARTICLE_SCHEMA, SCHEMA_VERSION
from newsbeam.transforms.enrich import registry as reg
from newsbeam.transforms.enrich.gazetteer import load_gazetteer
from newsbeam.transforms.enrich.ner import spans_to_entities
from newsbeam.transforms.enrich.places import PlaceResolver, ResolvePlaces, place_columns

# Sentences of the reference article (Dutch, September 2022) that name its places.
REFERENCE = (
    "De Russische terugtrekking in Charkiv, waar Oekraïne met succes een tegenaanval uitvoert, verloopt dermate "
    "chaotisch dat grote aantallen legervoertuigen zijn achtergelaten. Op sommige plekken zou Oekraïne de Russische "
    "troepen hebben teruggedrongen tot op de grens, claimt Kiev. Toch wil Rusland doorgaan met de operatie.\n\n"
    "Oekraïne heeft nu ook op sommige plekken de grens met Rusland bereikt, volgens de gouverneur van de provincie "
    "Charkiv.\n\n"
    "“Dankzij de herovering worden de mogelijkheden om de rest van de regio Donetsk in te nemen gereduceerd”, zegt "
    "een defensiespecialist. “Er liep een belangrijke aanvoerlijn naar de stad Izjoem, die nu ook ingenomen is.”\n\n"
    "“Vergeleken met de regio’s Donetsk en Lugansk, waarvan Rusland nog grote delen bezet, is dit gebied klein.”\n\n"
    "Rusland stelde dat het Oekraïne wilde “demilitariseren”, maar later is dat bijgesteld naar het “bevrijden van "
    "de Donbas”.\n\nDe woordvoerder voegde er nog aan toe dat er op dit moment geen discussies zijn over een eventuele "
    "demilitarisatie rond de kerncentrale Zaporizja. Hij ziet het ook niet in de nabije toekomst gebeuren dat er weer "
    "met Oekraïne om de tafel gezeten kan worden voor vredesbesprekingen."
)

EXONYMS = [  # Dutch, English, French, German
    ("Keulen", "Cologne", "Cologne", "Köln"),
    ("Luik", "Liège", "Liège", "Lüttich"),
    ("Den Haag", "The Hague", "La Haye", "Den Haag"),
    ("Antwerpen", "Antwerp", "Anvers", "Antwerpen"),
    ("Brussel", "Brussels", "Bruxelles", "Brüssel"),
    ("Parijs", "Paris", "Paris", "Paris"),
    ("Londen", "London", "Londres", "London"),
    ("Moskou", "Moscow", "Moscou", "Moskau"),
    ("Warschau", "Warsaw", "Varsovie", "Warschau"),
    ("Wenen", "Vienna", "Vienne", "Wien"),
    ("München", "Munich", "Munich", "München"),
    ("Lissabon", "Lisbon", "Lisbonne", "Lissabon"),
    ("Milaan", "Milan", "Milan", "Mailand"),
    ("Rome", "Rome", "Rome", "Rom"),
    ("Florence", "Florence", "Florence", "Florenz"),
    ("Napels", "Naples", "Naples", "Neapel"),
    ("Genève", "Geneva", "Genève", "Genf"),
    ("Praag", "Prague", "Prague", "Prag"),
    ("Kopenhagen", "Copenhagen", "Copenhague", "Kopenhagen"),
    ("Athene", "Athens", "Athènes", "Athen"),
    ("Boekarest", "Bucharest", "Bucarest", "Bukarest"),
    ("Belgrado", "Belgrade", "Belgrade", "Belgrad"),
    ("Kiev", "Kyiv", "Kiev", "Kiew"),
    ("Charkiv", "Kharkiv", "Kharkiv", "Charkiw"),
    ("Odessa", "Odesa", "Odessa", "Odessa"),
    ("Sint-Petersburg", "Saint Petersburg", "Saint-Pétersbourg", "Sankt Petersburg"),
    ("Peking", "Beijing", "Pékin", "Peking"),
    ("Kaapstad", "Cape Town", "Le Cap", "Kapstadt"),
    ("Aken", "Aachen", "Aix-la-Chapelle", "Aachen"),
    ("Rijsel", "Lille", "Lille", "Lille"),
    ("Straatsburg", "Strasbourg", "Strasbourg", "Straßburg"),
    ("Trier", "Trier", "Trèves", "Trier"),
    ("Duitsland", "Germany", "Allemagne", "Deutschland"),
    ("Oekraïne", "Ukraine", "Ukraine", "Ukraine"),
    ("Rusland", "Russia", "Russie", "Russland"),
    ("Verenigde Staten", "United States", "États-Unis", "Vereinigte Staaten"),
    ("Zwitserland", "Switzerland", "Suisse", "Schweiz"),
    ("België", "Belgium", "Belgique", "Belgien"),
    ("Beieren", "Bavaria", "Bavière", "Bayern"),
    ("Vlaanderen", "Flanders", "Flandre", "Flandern"),
]


@pytest.fixture(scope="module")
def resolver():
    return PlaceResolver(load_gazetteer())


def article(text, language, names, label="LOC"):
    """An article whose entities are the first occurrence of each of `names` in `text`."""
    entities = []
    for name in names:
        start = text.index(name)
        entities.append({"text": name, "label": label, "start": start, "end": start + len(name), "field": "text"})
    return {"id": "a1", "source": "test", "title": None, "text": text, "language": language, "entities": entities}


def resolved(resolver, art):
    return {entity["text"]: place for entity, place in zip(art["entities"], resolver.resolve(art))}


def test_reference_article_through_the_real_ner_model(resolver):
    nlp = reg.ModelRegistry().resolve("nl").load()
    art = {"title": None, "text": REFERENCE, "language": "nl"}
    art["entities"] = spans_to_entities(art, [(e.text, e.label_, e.start_char, e.end_char) for e in nlp(REFERENCE).ents])
    columns = place_columns(art, resolver.resolve(art))
    ids = {}
    for entity in columns["entities"]:
        ids.setdefault(entity["text"], set()).add(entity["place_id"])
    assert ids["Oekraïne"] == {690791} and ids["Rusland"] == {2017370} and ids["Kiev"] == {703448}
    assert ids["Charkiv"] == {706483, 706482}  # the city, and "de provincie Charkiv"
    assert ids["Donetsk"] == {709716} and ids["Lugansk"] == {702657}  # "de regio's Donetsk en Lugansk"
    donbas = [place for place in columns["places"] if place["name"] == "Donbas"]
    assert donbas == [{"geonames_id": None, "name": "Donbas", "country_code": "UA", "feature": "region",
                       "latitude": donbas[0]["latitude"], "longitude": donbas[0]["longitude"], "mentions": 1}]
    assert columns["countries"] == ["RU", "UA"]
    assert next(p for p in columns["places"] if p["geonames_id"] == 690791)["mentions"] == ids_count(art, "Oekraïne")


def ids_count(art, text):
    return sum(1 for entity in art["entities"] if entity["text"] == text)


def test_reference_places_the_model_misses_resolve_when_recognised(resolver):
    # The bundled model does not tag "Izjoem" and "Zaporizja" in this text; the resolver knows both names.
    places = resolved(resolver, article(REFERENCE, "nl", ["Oekraïne", "Izjoem", "Zaporizja", "Donbas"]))
    assert (places["Izjoem"].geonames_id, places["Izjoem"].country_code) == (707292, "UA")  # Dutch name, curated
    assert (places["Zaporizja"].geonames_id, places["Zaporizja"].country_code) == (687700, "UA")
    assert (places["Donbas"].geonames_id, places["Donbas"].country_code) == (None, "UA")


def test_reference_article_through_the_cli_places_all_nine_names(tmp_path):
    # The bundled model tags "Izjoem" but not "Zaporizja" here: the place step finds that one in the text itself.
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "reference.txt").write_text(" date 2022-09 " + REFERENCE, encoding="utf-8")
    assert main(["ingest", "--source", str(tmp_path / "in"), "--output", str(tmp_path / "out")]) == 0
    [article] = ds.dataset(tmp_path / "out" / "articles", format="parquet", partitioning="hive").to_table().to_pylist()
    entity_ids = {}
    for entity in article["entities"]:
        entity_ids.setdefault(entity["text"], set()).add(entity["place_id"])
    places = {(place["geonames_id"], place["name"]): place["country_code"] for place in article["places"]}
    assert entity_ids["Oekraïne"] == {690791} and entity_ids["Rusland"] == {2017370} and entity_ids["Kiev"] == {703448}
    assert entity_ids["Charkiv"] == {706483, 706482}  # the city, and "de provincie Charkiv"
    assert entity_ids["Donetsk"] == {709716} and entity_ids["Lugansk"] == {702657}
    assert entity_ids["Izjoem"] == {707292}
    assert "Zaporizja" not in entity_ids  # no entity is invented
    assert places[(707292, "Izyum")] == "UA" and places[(687700, "Zaporizhzhya")] == "UA"
    assert places[(None, "Donbas")] == "UA"  # GeoNames has no id for the Donbas in the offline data
    assert places[(706483, "Kharkiv")] == places[(706482, "Kharkiv Oblast")] == places[(703448, "Kyiv")] == "UA"
    assert places[(709716, "Donetsk Oblast")] == places[(702657, "Luhansk Oblast")] == places[(690791, "Ukraine")] == "UA"
    assert places[(2017370, "Russia")] == "RU" and article["countries"] == ["RU", "UA"]


def test_missed_names_need_the_articles_support(resolver):
    text = "Het leger trok zich terug uit de stad Izjoem. Oekraïne meldt dat."
    art = article(text, "nl", ["Oekraïne"])
    assert [(span.text, place.geonames_id) for span, place in resolver.unrecognised(art, resolver.resolve(art))] == [
        ("Izjoem", 707292)]
    alone = article("Het leger trok zich terug uit Izjoem, meldt de krant.", "nl", [])
    assert resolver.unrecognised(alone, []) == []  # a town of 46,000, no Ukrainian place recognised, no "stad"
    german = article("Nach dem Essen sprach Scholz in Berlin.", "de", ["Berlin"])
    assert resolver.unrecognised(german, resolver.resolve(german)) == []  # German capitalises every noun
    english = article("Dealers in London expect a rate cut in March. Lloyd said Swiss banks agree.", "en", ["London"])
    assert resolver.unrecognised(english, resolver.resolve(english)) == []  # March, Cambridgeshire; a demonym


def test_missed_names_count_in_places_and_countries_not_entities(resolver):
    art = article("Oekraïne meldt gevechten bij de stad Izjoem.", "nl", ["Oekraïne"])
    places = resolver.resolve(art)
    columns = place_columns(art, places, resolver.unrecognised(art, places))
    assert [entity["place_id"] for entity in columns["entities"]] == [690791]
    assert [(place["name"], place["mentions"]) for place in columns["places"]] == [("Ukraine", 1), ("Izyum", 1)]
    assert columns["countries"] == ["UA"]


@pytest.mark.parametrize("names", EXONYMS, ids=[row[1] for row in EXONYMS])
def test_exonyms_resolve_to_one_place_across_languages(resolver, names):
    ids = set()
    for name, language in zip(names, ("nl", "en", "fr", "de")):
        place = resolved(resolver, article(name, language, [name]))[name]
        assert place is not None, (name, language)
        ids.add(place.geonames_id)
    assert len(ids) == 1, names


def test_enough_exonyms():
    assert len(EXONYMS) >= 30


def test_donetsk_in_an_article_about_ukraine_is_the_ukrainian_city(resolver):
    text = "Shelling hit Donetsk again on Monday, officials in Ukraine said."
    assert resolved(resolver, article(text, "en", ["Donetsk", "Ukraine"]))["Donetsk"].geonames_id == 709717
    text = "Russische troepen trokken zich terug uit Donetsk; Rusland en Oekraïne spraken elkaar tegen."
    assert resolved(resolver, article(text, "nl", ["Donetsk", "Rusland", "Oekraïne"]))["Donetsk"].geonames_id == 709717


def test_paris_is_france_unless_the_article_is_about_texas(resolver):
    assert resolved(resolver, article("Talks resumed in Paris.", "en", ["Paris"]))["Paris"].geonames_id == 2988507
    text = "US officials met in Paris on Tuesday."  # a US context alone does not move Paris
    assert resolved(resolver, article(text, "en", ["US", "Paris"]))["Paris"].geonames_id == 2988507
    text = "A storm hit Paris, in northeast Texas, late on Sunday."
    places = resolved(resolver, article(text, "en", ["Paris", "Texas"]))
    assert (places["Paris"].geonames_id, places["Paris"].country_code) == (4717560, "US")


def test_a_small_town_of_the_articles_language_beats_a_larger_foreign_namesake(resolver):
    # Harlingen, Friesland (16,000) in a Dutch article; Harlingen, Texas (66,000) is no answer without US context.
    text = "De dijk bij Harlingen wordt versterkt."
    assert resolved(resolver, article(text, "nl", ["Harlingen"]))["Harlingen"].geonames_id == 2754817
    text = "Een storm trof Harlingen in Texas."
    assert resolved(resolver, article(text, "nl", ["Harlingen", "Texas"]))["Harlingen"].geonames_id == 4696233


def test_a_small_foreign_town_without_support_is_left_unresolved(resolver):
    # Izium (46,000) is only taken where the article supports it: Ukraine named, or "stad" before it.
    assert resolved(resolver, article("Gevechten bij Izjoem.", "nl", ["Izjoem"]))["Izjoem"] is None
    assert resolved(resolver, article("Gevechten bij de stad Izjoem.", "nl", ["Izjoem"]))["Izjoem"].geonames_id == 707292


def test_country_names_tagged_org_count_but_person_names_do_not(resolver):
    text = "Oekraïne won van Jordan."
    art = article(text, "nl", ["Oekraïne"], label="ORG")
    art["entities"].append({"text": "Jordan", "label": "PER", "start": 17, "end": 23, "field": "text"})
    places = resolver.resolve(art)
    assert [place and place.geonames_id for place in places] == [690791, None]


def test_resolve_places_in_a_beam_pipeline_with_dead_letters():
    good = article("Brand in Keulen en Luik.", "nl", ["Keulen", "Luik"])
    bad = {**article("Kapot.", "nl", []), "id": "bad", "entities": [{"label": "LOC"}]}  # an entity without text

    def summary(row):
        return row["id"], [e["place_id"] for e in row["entities"]], [p["name"] for p in row["places"]], row["countries"]

    with TestPipeline(runner=OfflineDirectRunner()) as pipeline:
        result = pipeline | beam.Create([good, bad]) | ResolvePlaces()
        assert_that(result.articles | beam.Map(summary),
                    equal_to([("a1", [2886242, 2792413], ["Köln", "Liège"], ["BE", "DE"])]), label="articles")
        assert_that(result.errors | beam.Map(lambda e: (e["record_id"], e["stage"], e["reason"])),
                    equal_to([("bad", "enrich", "unexpected")]), label="errors")


def old_schema():
    """The articles schema as version 1.0 wrote it: entities without place_id, no places or countries."""
    entity = pa.struct([field for field in ARTICLE_SCHEMA.field("entities").type.value_type if field.name != "place_id"])
    fields = [pa.field("entities", pa.list_(entity), nullable=False) if field.name == "entities" else field
              for field in ARTICLE_SCHEMA if field.name not in ("places", "countries")]  # fmt: skip
    return pa.schema(fields)


def row(schema, identifier, entity, **extra):
    values = {field.name: None for field in schema}
    values.update(id=identifier, source="s", source_type="text", text="t", authors=[], language="nl",
                  entities=[entity], content_hash="h", ingested_at=pa.scalar(0, pa.timestamp("us", tz="UTC")).as_py(),
                  run_id="r", schema_version="x", **extra)  # fmt: skip
    return pa.Table.from_pylist([values], schema=schema)


def test_version_1_0_and_1_2_files_read_together(tmp_path):
    assert SCHEMA_VERSION == "1.2"
    old_entity = {"text": "Kiev", "label": "LOC", "start": 0, "end": 4, "field": "text"}
    pq.write_table(row(old_schema(), "old", old_entity), tmp_path / "part-old.parquet")
    place = {"geonames_id": 703448, "name": "Kyiv", "country_code": "UA", "feature": "city", "latitude": 50.45,
             "longitude": 30.52, "mentions": 1}
    pq.write_table(row(ARTICLE_SCHEMA, "new", {**old_entity, "place_id": 703448}, places=[place], countries=["UA"]),
                   tmp_path / "part-new.parquet")

    table = ds.dataset(tmp_path, format="parquet", schema=ARTICLE_SCHEMA).to_table().sort_by("id")
    assert table.column("places").to_pylist() == [[place], None]
    assert table.column("countries").to_pylist() == [["UA"], None]
    assert [e[0]["place_id"] for e in table.column("entities").to_pylist()] == [703448, None]

    query = f"""SELECT id, countries, entities[1].place_id AS place_id
                FROM read_parquet('{tmp_path}/*.parquet', union_by_name = true) ORDER BY id"""
    assert duckdb.sql(query).fetchall() == [("new", ["UA"], 703448), ("old", None, None)]
