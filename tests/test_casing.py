"""A question typed all in lower case takes its names' capitals from the passages it finds
(retrieval/corpus/casing.py)."""

from __future__ import annotations

import pytest

from retrieval.corpus.analysis import french_stop_words
from retrieval.corpus.casing import is_lower_case, truecased
from retrieval.engine import Engine

from .support import SEEDS

PASSAGES = (
    "Le mois dernier, le ministre russe de la Défense, Sergueï Choïgou, a effectué un rare voyage à Pyongyang.",
    "Poutine est accompagné de Sergey Lavrov. Visite historique, selon les médias.",
    "Selon KCNA, Kim Jong-un a invité Poutine à visiter la RPDC.",
)


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("quand choigou est-il alle a pyongyang ?", "quand Choïgou est-il alle a Pyongyang ?"),
        ("Et lavrov ?", "Et Lavrov ?"),  # a phone's capital first
        ("qu'a dit kim jong-un ?", "qu'a dit Kim Jong-un ?"),
        # "visite" is capitalised only where a sentence starts; "russe" is also written in lower case
        ("la visite du ministre russe", "la visite du ministre russe"),
        # a capital typed inside the question: the question is read as typed
        ("Quand Choïgou est-il allé à pyongyang ?", "Quand Choïgou est-il allé à pyongyang ?"),
        ("who did macron meet?", "who did macron meet?"),  # no passage names him
    ],
)
def test_a_lower_case_question_takes_the_capitals_its_passages_give_its_names(typed: str, read: str):
    assert truecased(typed, PASSAGES, ignore=french_stop_words()) == read


def test_a_stop_word_is_never_made_a_name():
    assert truecased("et la ?", ["Pour La Réunion, il part."], ignore=frozenset({"la"})) == "et la ?"


@pytest.mark.parametrize(
    ("question", "lower"),
    [("et lavrov ?", True), ("Et lavrov ?", True), ("Et Lavrov ?", False), ("  qui est kim ?", True)],
)
def test_lower_case_allows_a_capital_first(question: str, lower: bool):
    assert is_lower_case(question) is lower


def test_a_lower_case_follow_up_naming_someone_asks_the_previous_question_about_them(engine: Engine):
    engine.ask("Qu'a dit Choïgou sur la coopération militaire ?", chat="c")
    lower = engine.ask("et lavrov ?", chat="c")
    assert lower.question == "et lavrov ?"
    engine.forget("c")
    engine.ask("Qu'a dit Choïgou sur la coopération militaire ?", chat="c")
    cased = engine.ask("Et Lavrov ?", chat="c")
    assert lower.text == cased.text and lower.quotes == cased.quotes
    assert "Lavrov" in (SEEDS / f"{cased.quotes[0].article_id}.txt").read_text(encoding="utf-8")


TREATY = (
    "Le contrat de partenariat global signé ce jour inclut une aide réciproque, selon le traité.",
    "Poutine a qualifié le traité de « document véritablement innovant ».",
    "Un signe de rapprochement, selon Moscou.",
)


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        # the passages found always write "traité"; "signe" they also write as typed
        ("Quand le traite a-t-il ete signe par Poutine ?", "Quand le traité a-t-il ete signe par Poutine ?"),
        ("quand le traite a-t-il ete signe ?", "quand le traité a-t-il ete signe ?"),
        ("qu'a dit poutine du TRAITE ?", "qu'a dit poutine du TRAITÉ ?"),  # a capital inside: no names
    ],
)
def test_typed_without_accents_a_word_takes_those_its_passages_always_write(typed: str, read: str):
    assert truecased(typed, TREATY, ignore=french_stop_words(), accents=True) == read


def test_accents_are_taken_from_the_passages_only_for_a_question_typed_without():
    typed = "Quand le traite a-t-il ete signe par Poutine ?"
    assert truecased(typed, TREATY, ignore=french_stop_words()) == typed


def test_a_question_typed_without_accents_is_answered_as_spelt_in_full(engine: Engine):
    assert engine.ask("qu'a dit poutine sur le traite ?").text == engine.ask("Qu'a dit Poutine sur le traité ?").text
