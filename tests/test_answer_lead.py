"""Answers that lead with the fact: the answering sentence first, no padding, follow-ups in their
own language, and "who wrote…" answered from the article's byline and source.

The hits are built from the real seed articles, with chosen scores: what the answerer does with
a given ranking is tested apart from the encoders that would produce it.
"""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from retrieval import Engine, load_articles
from retrieval.answers.authorship import asks_who_wrote
from retrieval.answers.extractive import FRAMING, NOT_FOUND, ExtractiveAnswerer
from retrieval.answers.followup import answer_language
from retrieval.options import AbstainPolicy
from retrieval.types import Article, Hit, Passage, ScoredSentence

from .support import SEEDS, TREATY_ARTICLE

TALKS_ARTICLE = "000_6b9ece9a93871e23"  # by Adam Morrow, with Reuters
MUTUAL_AID = "« Le contrat de partenariat global signé ce jour inclut"
BEST_FRIEND = "« Ce pacte puissant est bel et bien un document constructif"
UNDISCLOSED = "Cependant, le contenu de l’accord est resté confidentiel."
GIFTS = "Selon lui, Poutine a offert à Kim Jong-un une seconde Aurus"
BYLINE = "Par Adam Morrow"


@pytest.fixture(scope="module")
def seeds() -> dict[str, Article]:
    return {a.id: a for a in load_articles(SEEDS).articles}


def sentence(article: Article, opening: str, similarity: float, coverage: float) -> ScoredSentence:
    """The sentence (or heading line) of ``article`` that starts with ``opening``."""
    start = article.body.index(opening)
    end = re.search(r"(?<=[.!?»])\s|\n|$", article.body[start + len(opening) :]).start() + start + len(opening)
    return ScoredSentence(start, end, article.body[start:end], similarity, coverage)


def hit(article: Article, rank: int, score: float, *sentences: ScoredSentence) -> Hit:
    start, end = min(s.char_start for s in sentences), max(s.char_end for s in sentences)
    passage = Passage(f"{article.id}:{rank}", article.id, rank, article.body[start:end], start, end)
    best = max(sentences, key=lambda s: s.similarity)
    return Hit(
        rank=rank,
        score=score,
        passage=passage,
        article=article.info,
        evidence=best.similarity,
        sentence=(best.char_start, best.char_end),
        coverage=max(s.coverage for s in sentences),
        sentences=tuple(sorted(sentences, key=lambda s: s.char_start)),
    )


def statements(text: str) -> list[str]:
    return text.split("\n")[1:]  # after the framing line


ANSWERER = ExtractiveAnswerer(AbstainPolicy(threshold=0.5, coverage_weight=0.4))


def test_the_answering_sentence_comes_first_even_from_a_lower_ranked_passage(seeds):
    treaty = seeds[TREATY_ARTICLE]
    hits = [
        hit(treaty, 1, 1.0, sentence(treaty, UNDISCLOSED, 0.75, 0.5), sentence(treaty, GIFTS, 0.1, 0.0)),
        hit(treaty, 2, 0.9, sentence(treaty, MUTUAL_AID, 0.9, 0.8)),
    ]
    answer = ANSWERER.answer("What did the treaty include?", hits)
    lines = statements(answer.text)
    assert lines[0].startswith(MUTUAL_AID) and lines[0].endswith("[1]")
    assert answer.citations[0].passage == hits[1].passage  # [1] is the passage that answers
    assert lines[1] == f"{UNDISCLOSED} [2]"  # a close second still follows it
    assert len(lines) == 2


def test_sentences_that_only_share_words_with_the_question_are_dropped(seeds):
    treaty = seeds[TREATY_ARTICLE]
    answering = sentence(treaty, MUTUAL_AID, 0.8, 0.6)
    # Every word of the question, and little of its meaning: it used to pad the answer.
    shares_words = sentence(treaty, BEST_FRIEND, 0.25, 1.0)
    unrelated = sentence(treaty, GIFTS, 0.05, 0.0)
    hits = [hit(treaty, 1, 1.0, answering, shares_words), hit(treaty, 2, 0.5, unrelated)]
    answer = ANSWERER.answer("Que prévoit le pacte puissant ?", hits)
    assert statements(answer.text) == [f"{answering.text} [1]"]
    assert [c.n for c in answer.citations] == [1]


# --- who wrote it -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "about_the_article"),
    [
        ("Who wrote the article about Putin's talks in Pyongyang?", True),
        ("Qui a écrit l'article ?", True),
        ("Qui est l’auteur de l’article sur le traité ?", True),
        ("Which news agency is credited on the story about Kim's invitation?", True),
        ("Who wrote the letter to Putin?", False),  # about the content: Kim did
        ("Quelle agence de presse russe a relayé les déclarations d'Ouchakov ?", False),
        ("What did the treaty include?", False),
        # A follow-up searched with the previous question: the one asked last decides.
        ("Who wrote the article about the treaty? and what did Kim say?", False),
        ("Que dit-on du traité ? Qui a écrit cet article ?", True),
    ],
)
def test_who_wrote_questions_are_told_from_questions_about_the_content(question, about_the_article):
    assert asks_who_wrote(question) is about_the_article


def test_who_wrote_is_answered_from_the_byline_and_source(seeds):
    talks, treaty = seeds[TALKS_ARTICLE], seeds[TREATY_ARTICLE]
    byline_hit = hit(talks, 2, 0.9, sentence(talks, BYLINE, 0.5, 0.3))
    hits = [hit(treaty, 1, 1.0, sentence(treaty, MUTUAL_AID, 0.6, 0.3)), byline_hit]
    answer = ANSWERER.answer("Who wrote the article about Putin's talks in Pyongyang?", hits)
    assert not answer.abstained
    # Each article the question may mean is named with its own credit, each cited.
    assert answer.text.split("\n") == [
        f"The article “{treaty.info.title}” is credited to médias russes. [1]",
        f"The article “{talks.info.title}” is by Adam Morrow, with Reuters. [2]",
    ]
    assert [(c.n, c.article.id, c.passage) for c in answer.citations] == [
        (1, TREATY_ARTICLE, hits[0].passage),
        (2, TALKS_ARTICLE, byline_hit.passage),
    ]
    fr = ANSWERER.answer("Qui a écrit l'article sur les entretiens ?", [byline_hit])
    assert fr.text == f"L’article « {talks.info.title} » est signé Adam Morrow, avec Reuters. [1]"
    assert fr.language == "fr"


def test_an_article_without_byline_or_source_says_so(seeds):
    treaty = seeds[TREATY_ARTICLE]
    anonymous = replace(treaty.info, byline=None, source=None)
    only = replace(hit(treaty, 1, 1.0, sentence(treaty, MUTUAL_AID, 0.6, 0.3)), article=anonymous)
    answer = ANSWERER.answer("Qui a écrit cet article ?", [only])
    assert answer.text == f"L’article « {treaty.info.title} » ne nomme ni son auteur ni sa source. [1]"


def test_who_wrote_still_abstains_without_evidence(seeds):
    treaty = seeds[TREATY_ARTICLE]
    weak = hit(treaty, 1, 1.0, sentence(treaty, MUTUAL_AID, 0.1, 0.0))
    answer = ANSWERER.answer("Who wrote the article about the euro exchange rate?", [weak])
    assert answer.abstained and answer.text == NOT_FOUND["en"]


# --- follow-ups in their own language -----------------------------------------------------------


def test_answer_language_is_the_follow_up_s_own_unless_it_has_no_telling_word():
    assert answer_language("et quand ?", "en") == "fr"
    assert answer_language("and when?", "fr") == "en"
    assert answer_language("Kim ?", "en") == "en"  # nothing in it tells: the chat's language
    assert answer_language("2019?", "fr") == "fr"
    assert answer_language("Kim ?", None) == "fr"


def spoken(answer) -> str:
    """The language the answer's own words are in."""
    for (language, _), framing in FRAMING.items():
        if answer.text.startswith(framing):
            return language
    return next(language for language, text in NOT_FOUND.items() if answer.text == text)


def test_a_follow_up_is_answered_in_the_language_it_was_asked_in(engine: Engine):
    engine.ask("What did the treaty include?", chat="a")
    french = engine.ask("et quand ?", chat="a")
    assert french.language == spoken(french) == "fr"
    assert engine.conversations.previous("a") == "What did the treaty include? et quand ?"

    engine.ask("Que prévoit le traité ?", chat="b")
    english = engine.ask("and when?", chat="b")
    assert english.language == spoken(english) == "en"
    bare = engine.ask("Kim?", chat="b")  # no word of either language: the chat's last one
    assert bare.language == spoken(bare) == "en"
