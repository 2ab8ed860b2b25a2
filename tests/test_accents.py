"""A question typed without accents is read with them (retrieval/corpus/accents.py)."""

from __future__ import annotations

import pytest

from retrieval.corpus.accents import AccentRestorer, accented_forms
from retrieval.engine import Engine


@pytest.fixture(scope="module")
def restorer() -> AccentRestorer:
    return AccentRestorer()


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("quand le traite a ete signe ?", "quand le traite a été signe ?"),
        ("Pourquoi Choigou est-il alle a Pyongyang ?", "Pourquoi Choigou est-il allé a Pyongyang ?"),
        ("Quelle est la duree de la visite d'Etat ?", "Quelle est la durée de la visite d'État ?"),
        ("Quel est le role de Iouri Ouchakov ?", "Quel est le rôle de Iouri Ouchakov ?"),
        ("combien de missiles la COREE a-t-elle fournis", "combien de missiles la CORÉE a-t-elle fournis"),
        ("qu'a-t-il dit apres ?", "qu'a-t-il dit après ?"),
        # "ou" asks where where the conjunction cannot stand
        ("Et ou va-t-il ensuite ?", "Et où va-t-il ensuite ?"),
        ("Ou se trouve le cosmodrome ?", "Où se trouve le cosmodrome ?"),
        ("D'ou vient-il ?", "D'où vient-il ?"),
        ("ou ?", "où ?"),
        # before its subject, a verb is conjugated: respelt, but never as a participle
        ("Et que recoit-elle en echange ?", "Et que reçoit-elle en échange ?"),
    ],
)
def test_a_question_typed_without_accents_is_read_with_the_common_spelling(
    restorer: AccentRestorer, typed: str, read: str
):
    assert restorer.restore(typed) == read


@pytest.mark.parametrize(
    "question",
    [
        "Qui l'a signe, Poutine ou Kim ?",  # "ou", "a" and "signe" are words as typed
        "Comment Saraswati surnomme-t-il Maharishi ?",  # before its subject, a verb is conjugated
        "Qui a signé le traite ?",  # accents typed: the ones meant
        "What did the treaty include?",  # another language than the articles'
        "Who is the president of the Security Council?",
    ],
)
def test_a_question_is_left_as_typed_where_its_spelling_may_be_meant(restorer: AccentRestorer, question: str):
    assert restorer.restore(question) == question


def test_only_a_much_commoner_accented_spelling_replaces_a_word():
    frequencies = {"ete": 0, "été": 50, "traite": 30, "traité": 40, "signe": 5, "signé": 60, "côte": 3, "coté": 9}
    assert accented_forms(frequencies) == {"ete": "été", "signe": "signé", "cote": "coté"}


def test_articles_in_a_language_without_a_dictionary_are_asked_as_typed():
    assert AccentRestorer("english").restore("quand le traite a ete signe ?") == "quand le traite a ete signe ?"


def test_the_engine_reads_the_restored_question_and_answers_the_one_typed(engine: Engine, monkeypatch):
    searched: list[str] = []
    search = engine.searcher(answering=True).search

    def recording(question: str, k: int = 5, *, focus: str | None = None):
        searched.append(question)
        return search(question, k, focus=focus)

    monkeypatch.setattr(engine.searcher(answering=True), "search", recording)
    typed = "Quand le traite a-t-il ete signe ?"
    answer = engine.ask(typed)
    assert searched and set(searched) == {"Quand le traite a-t-il été signe ?"}
    assert answer.question == typed
    assert engine.ask(typed, chat="c").question == typed
    assert engine.answer_hits(typed, engine.search(typed)).question == typed


def test_typed_without_accents_a_question_about_the_treaty_is_answered_as_spelt_in_full(real_engine: Engine):
    full = real_engine.ask("Quand le traité a-t-il été signé ?")
    bare = real_engine.ask("quand le traite a-t-il ete signe ?")
    assert not full.abstained and not bare.abstained
    assert bare.quotes[0].text == full.quotes[0].text
