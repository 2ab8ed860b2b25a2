"""An organisation's acronym in the other language: "NATO" is "OTAN"; a word that only looks like one is not."""

from __future__ import annotations

import pytest

from retrieval.corpus.acronyms import PAIRS, acronym_translations


@pytest.mark.parametrize(
    ("question", "translated"),
    [
        ("What did NATO say?", {"nato": "otan"}),
        ("Qu'a dit l'Otan ?", {"otan": "nato"}),
        ("Does the deal violate UN resolutions?", {"un": "onu"}),
        ("Les sanctions de l'ONU et de l'UE", {"onu": "un", "ue": "eu"}),
        ("What do NGOs say?", {"ngo": "ong"}),
        # The French article, an English question word, a name: no acronym.
        ("Poutine a signé un accord", {}),
        ("Who is Kim?", {}),
        ("What did Washington say?", {}),
        # The same in both languages: nothing to translate.
        ("What did the FBI say?", {}),
    ],
)
def test_an_acronym_is_read_in_the_other_language(question: str, translated: dict[str, str]):
    assert acronym_translations(question) == translated


def test_each_acronym_has_one_form_in_each_language():
    english, french = zip(*PAIRS, strict=True)
    assert len(set(english)) == len(english) and len(set(french)) == len(french)
    assert not set(english) & set(french)
