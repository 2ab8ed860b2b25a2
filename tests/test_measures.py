"""A question asking for a measure (an age, a height, a population, the weather, a price, a
birth, a spouse, a relative) is answered only from passages that state one of its form."""

from __future__ import annotations

import pytest

from retrieval import Engine
from retrieval.answers.extractive import ExtractiveAnswerer
from retrieval.answers.followup import FollowUp
from retrieval.answers.measures import asked_measure, states_measure
from retrieval.options import AbstainPolicy
from retrieval.types import ArticleInfo, Hit, Passage


@pytest.mark.parametrize(
    ("question", "measure"),
    [
        ("How old is Kim Jong-un?", "age"),
        ("Quel âge a Kim Jong-un ?", "age"),
        ("À quel âge est-il devenu dirigeant ?", "age"),
        ("How tall is Vladimir Putin?", "length"),
        ("How far is Vladivostok from Pyongyang?", "length"),
        ("Quelle est la distance entre Moscou et Pyongyang ?", "length"),
        ("What is the population of Pyongyang?", "population"),
        ("Combien d'habitants compte Pyongyang ?", "population"),
        ("What is its population?", "population"),
        ("Quelle est sa population ?", "population"),
        ("What is the weather in Pyongyang?", "weather"),
        ("Quelle est la météo à Moscou ?", "weather"),
        ("How much does a ballistic missile cost?", "price"),
        ("Quel est le prix du train blindé ?", "price"),
        ("How heavy is the armoured train?", "weight"),
        ("How fast does the train go?", "speed"),
        ("Is Kim Jong Un married?", "spouse"),
        ("Who is Kim Jong Un's wife?", "spouse"),
        ("Qui est la femme de Poutine ?", "spouse"),
        ("Kim Jong-un est-il marié ?", "spouse"),
        ("Avec qui Françoise s'est marié ?", "spouse"),
        ("Where was Kim Jong Un born?", "birth"),
        ("Où est né Kim Jong-un ?", "birth"),
        ("Quand Poutine est-il né ?", "birth"),
        ("Quelle est l'année de naissance de l'US Tourcoing ?", "birth"),
        # A relative, the unknown of the question, in either language
        ("Comment s'appelle la sœur de Kim Jong-un ?", "sibling"),
        ("Who is Kim Jong-un's sister?", "sibling"),
        ("Et sa fille ?", "child"),
        ("Does Putin have any children?", "child"),
        ("Combien d'enfants a-t-il ?", "child"),
        ("Who was Kim Jong Un's father?", "father"),
        ("Qui est le beau-frère d'Henriette ?", "in-law"),
        ("Who was Kim Jong Il?", None),  # a person asked by name
        ("Que symbolise le fils aîné dans la parabole du fils prodigue ?", None),  # "le fils aîné" is named
        # Everything else is left to the other signals: a date, a count, a duration, words.
        ("When did Putin visit Pyongyang?", None),
        ("How many missiles did North Korea send?", None),
        ("Combien de temps ont duré les discussions ?", None),
        ("How long did they talk?", None),
        ("Quelle est la taille de l'armée ?", None),  # a count of soldiers, not a length
        ("Quel était le rôle de la population dans le soulèvement ?", None),
        ("What did the treaty include?", None),
        ("Quel est le premier pays à revenir sur le mariage homosexuel ?", None),  # marriage as a topic
        ("Quelle femme d'État a signé ?", None),
    ],
)
def test_the_measure_a_question_asks_for(question: str, measure: str | None):
    assert asked_measure(question) == measure


@pytest.mark.parametrize(
    ("text", "measure", "states"),
    [
        ("Kim Jong-un, âgé de 40 ans, a accueilli son hôte.", "age", True),
        ("Le dirigeant, né en 1984, a succédé à son père.", "age", True),
        ("Il est devenu dirigeant à 27 ans.", "age", True),
        ("The 40-year-old leader met Putin.", "age", True),
        ("Sa précédente visite en Corée du Nord remonte à près de 25 ans.", "age", False),  # how long ago
        ("Le neuvième district est sous 20 pieds d'eau.", "length", True),
        ("La tour mesure trois cents mètres de hauteur.", "length", True),
        ("Une délégation de haut niveau l'accompagne.", "length", False),
        ("La ville compte 3 millions d'habitants.", "population", True),
        ("Il faisait 30 degrés et la pluie menaçait.", "weather", True),
        ("La grêle tombe du ciel, les gens paniquent.", "weather", True),
        ("Moscou et Pyongyang sont alliés depuis la guerre froide.", "weather", False),
        ("Le contrat est évalué à 2 milliards de dollars.", "price", True),
        ("Un accord sur le gel des avoirs.", "price", False),
        ("Le train blindé pèse 50 tonnes.", "weight", True),
        ("Le train roule à 60 km/h.", "speed", True),
        ("Il a épousé Ri Sol-ju en 2009.", "spouse", True),
        ("Sa femme, Ri Sol-ju, l'accompagnait.", "spouse", True),
        ("He is married to Ri Sol-ju.", "spouse", True),
        ("Une conférence de presse conjointe a suivi.", "spouse", False),
        ("La délégation qui l’accompagne se rendra à Hanoï.", "spouse", False),
        ("Anselm Franz (né le 21 janvier 1900 à Schladming) est un ingénieur.", "birth", True),
        ("Comme Le Caravage (1571-1610), il fut un artiste brillant.", "birth", True),
        ("L'Union sportive de Tourcoing, qui voit le jour en 1902, est sacrée.", "birth", True),
        ("À la suite de la création de la Ligue du Nord en 1919, la rivalité grandit.", "birth", True),
        ("Kim Jong-un a succédé à son père en 2011.", "birth", False),
        ("Vladimir Poutine avait rencontré le père de Kim Jong Un, Kim Jong Il.", "father", True),
        ("Dhritarashtra eut cent fils.", "child", True),  # sons are children
        ("His daughter Maria was born in 1987.", "child", True),
        ("Kim Yo-jong, la sœur du dirigeant, a déclaré…", "sibling", True),
        ("Vladimir Poutine avait rencontré le père de Kim Jong Un, Kim Jong Il.", "sibling", False),
    ],
)
def test_what_states_a_measure(text: str, measure: str, states: bool):
    assert states_measure(text, measure) is states


def _hit(text: str, rank: int = 1) -> Hit:
    passage = Passage(f"a:{rank}", "a", rank - 1, text, 0, len(text))
    return Hit(rank, 1.0, passage, ArticleInfo("a", "A"), evidence=0.9, similarity=0.9)


@pytest.mark.parametrize(
    "question",
    [
        "How old is Kim Jong-un?",
        "Quel âge a Kim Jong-un ?",
        "What is the weather in Pyongyang?",
        "What is the population of Pyongyang?",
        "Combien d'habitants compte Pyongyang ?",
        "How tall is Vladimir Putin?",
        "Is Kim Jong Un married?",
        "Qui est la femme de Poutine ?",
        "Where was Kim Jong Un born?",
        "Quand est né Poutine ?",
        "Who is Kim Jong-un's sister?",
        "Qui sont les enfants de Poutine ?",
    ],
)
def test_a_measure_no_seeds_passage_states_is_refused_in_the_question_s_language(engine: Engine, question: str):
    """The seeds name Kim Jong-un and Pyongyang on every page and give neither's age, weather or
    population: the passages found are about the subject, not about what is asked. The policy lets
    every hit through (threshold 0); only the measure refuses."""
    hits = engine.search(question, 5)
    assert hits
    answer = ExtractiveAnswerer(AbstainPolicy()).answer(question, hits)
    assert answer.abstained
    french = any(w in question for w in ("Quel", "Combien", "Qui ", "Quand"))
    assert answer.text.startswith("Je n’ai pas" if french else "I could not")


def test_a_measure_a_passage_states_is_answered_from_it():
    answerer = ExtractiveAnswerer(AbstainPolicy())
    hits = [
        _hit("Kim Jong-un a reçu Vladimir Poutine à Pyongyang."),
        _hit("Kim Jong-un, âgé de 40 ans, dirige le pays depuis 2011.", rank=2),
    ]
    answer = answerer.answer("How old is Kim Jong-un?", hits)
    assert not answer.abstained
    assert "âgé de 40 ans" in answer.text
    # Beyond the passages an answer quotes from, a stated age does not count.
    far = [_hit(f"Kim Jong-un a rencontré Poutine ({n}).", rank=n) for n in range(1, 4)] + [
        _hit("Kim Jong-un, âgé de 40 ans, dirige le pays.", rank=4)
    ]
    assert answerer.answer("How old is Kim Jong-un?", far).abstained
    # A question asking for no measure is answered from the same passages.
    assert not answerer.answer("Who did Kim Jong-un meet?", far).abstained


def test_a_follow_up_that_asks_nothing_of_its_own_asks_for_the_previous_question_s_measure():
    assert FollowUp("and Putin?", previous_measure="age").measure == "age"
    assert FollowUp("Et Poutine ?", previous_measure="age").measure == "age"
    assert FollowUp("and how tall is he?", previous_measure="age").measure == "length"
    assert FollowUp("and who did he meet?", previous_measure="age").measure is None


def test_the_engine_carries_the_measure_to_a_follow_up(engine: Engine):
    """ "and Putin?" after "How old is Kim Jong-un?" asks Putin's age, which no seed states; a follow-up
    with its own question is answered."""
    engine.ask("How old is Kim Jong-un?", chat="c")
    assert engine.ask("and Putin?", chat="c").abstained
    engine.ask("How old is Kim Jong-un?", chat="d")
    assert not engine.ask("and who did he meet?", chat="d").abstained
