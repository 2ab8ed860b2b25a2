"""Sure translations: an organisation's acronym in the other language ("NATO" is "OTAN"; a word that
only looks like one is not), the months and days of the week ("June" is "juin"), and a question read
with them in the articles' language."""

from __future__ import annotations

import pytest

from retrieval.corpus import acronyms, calendar
from retrieval.corpus.translations import in_language, sure_translations


@pytest.mark.parametrize(
    ("question", "translated"),
    [
        # An acronym.
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
        # A month or a day of the week.
        ("What happened on 18 June?", {"june": "juin"}),
        ("what happened on tuesday", {"tuesday": "mardi"}),
        ("Que s'est-il passé le 18 juin ?", {"juin": "june"}),
        ("What did Russia veto in March?", {"march": "mars"}),
        ("Did Kim visit in May 2023?", {"may": "mai"}),
        # "may" and "march" are English words first: a month only with a capital, after the first word
        ("May Kim visit Moscow?", {}),
        ("What may happen next?", {}),
        ("Did they march in Pyongyang?", {}),
    ],
)
def test_an_acronym_a_month_or_a_day_is_read_in_the_other_language(question: str, translated: dict[str, str]):
    assert sure_translations(question) == translated


@pytest.mark.parametrize(
    ("question", "language", "read"),
    [
        ("What happened on 18 June?", "french", "What happened on 18 juin?"),
        ("What did NATO and the UN say on Tuesday?", "french", "What did OTAN and the ONU say on mardi?"),
        ("Qu'a dit l'Otan le 18 juin ?", "english", "Qu'a dit l'NATO le 18 June ?"),
        # already in the articles' language, or a language with no list: as typed
        ("Qu'a dit l'Otan le 18 juin ?", "french", "Qu'a dit l'Otan le 18 juin ?"),
        ("What happened on 18 June?", "german", "What happened on 18 June?"),
    ],
)
def test_a_question_is_read_with_its_sure_translations_in_the_articles_language(question, language, read):
    assert in_language(question, language) == read


@pytest.mark.parametrize("table", [acronyms.PAIRS, calendar.PAIRS])
def test_each_word_has_one_form_in_each_language(table):
    english, french = zip(*table, strict=True)
    assert len(set(english)) == len(english) and len(set(french)) == len(french)
    assert not set(english) & set(french)
