"""Sentences that point back to the one before them (retrieval.corpus.reference)."""

from __future__ import annotations

import pytest

from retrieval.corpus.reference import points_back, unclear_alone


@pytest.mark.parametrize(
    "sentence",
    [
        "Ils ont assisté à une exposition militaire qui présentait les missiles.",
        "On y voit d’immenses banderoles souhaitant la bienvenue.",
        "À cette époque, Jake Sullivan avait prévenu que Pyongyang « paierait le prix ».",
        "« Ce pacte puissant est bel et bien un document constructif », a insisté M. Kim.",
        "Leurs amis les plus proches sont la Corée du Nord, l'Iran et la Chine.",
        "They met again in 2019.",
        "These sanctions were imposed by the Security Council.",
    ],
)
def test_a_sentence_opening_with_a_pronoun_or_a_demonstrative_points_back(sentence: str):
    assert points_back(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "Il y a deux ans, Kim s'est rendu à Vladivostok.",  # impersonal
        "Il s’agit de la deuxième incursion de ce type.",
        "En ce qui concerne les présents remis au leader russe, M. Ouchakov a complété.",  # a relative « ce »
        "It is the first visit in 24 years.",
        "Le président russe doit effectuer une visite d'État de deux jours.",
        "Moscou et Pyongyang sont alliés depuis la fin de la guerre de Corée, selon eux.",  # past the third word
    ],
)
def test_an_impersonal_pronoun_or_a_sentence_naming_its_subject_does_not(sentence: str):
    assert not points_back(sentence)


def test_only_a_pronoun_standing_for_someone_or_somewhere_leaves_a_sentence_unclear_alone():
    assert unclear_alone("Ils soupçonnent la Corée du Nord de fournir des munitions.")
    assert unclear_alone("On y voit d’immenses banderoles.")
    assert unclear_alone("He warned that Pyongyang would pay the price.")
    assert not unclear_alone("Ce voyage en Corée du Nord a lieu neuf mois après.")  # says what it stands for
    # who told it is the only thing left to the sentence before: what it says is clear
    assert not unclear_alone("Selon lui, Poutine a offert à Kim Jong-un une seconde Aurus.")
    assert not unclear_alone("According to him, the talks lasted two hours.")
    assert unclear_alone("Selon lui, il a offert une Aurus.")
