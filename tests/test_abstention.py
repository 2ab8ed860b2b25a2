"""Abstention v2 and the signals it reads: passage cosine, rare-word coverage, unseen words,
titles read with passages, and a separate threshold for questions across languages."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval import Engine
from retrieval.answers.extractive import ExtractiveAnswerer
from retrieval.answers.late import LateInteraction
from retrieval.config import Settings, abstain_policy
from retrieval.corpus.analysis import names_in, tidy
from retrieval.options import AbstainPolicy, ChunkSettings
from retrieval.stores.spelling import Spellings
from retrieval.types import ArticleInfo, Hit, Passage

from .support import TREATY_ARTICLE, FakeEmbedder, fake_encoders, make_settings


def _hit(*, evidence: float, similarity: float, rare: float = 0.0, unseen: float = 0.0) -> Hit:
    passage = Passage("a:0", "a", 0, "Un traité.", 0, 10)
    return Hit(
        rank=1,
        score=1.0,
        passage=passage,
        article=ArticleInfo(id="a", title="A"),
        evidence=evidence,
        similarity=similarity,
        rare_coverage=rare,
        unseen=unseen,
    )


def test_confidence_adds_the_passage_cosine_and_the_rare_words_found():
    policy = AbstainPolicy(threshold=1.7, passage_weight=1.0, coverage_weight=0.2, unseen_weight=0.1)
    assert policy.confidence(_hit(evidence=0.8, similarity=0.85)) == pytest.approx(1.65)
    assert policy.confidence(_hit(evidence=0.8, similarity=0.85, rare=1.0)) == pytest.approx(1.85)
    assert policy.confidence(_hit(evidence=0.8, similarity=0.85, rare=1.0, unseen=0.5)) == pytest.approx(1.80)
    assert policy.abstains([_hit(evidence=0.8, similarity=0.85)])
    assert not policy.abstains([_hit(evidence=0.8, similarity=0.85), _hit(evidence=0.8, similarity=0.85, rare=1.0)])


def test_a_question_across_languages_is_judged_on_cosines_against_its_own_threshold():
    policy = AbstainPolicy(threshold=1.7, cross_lingual_threshold=1.55, coverage_weight=0.2, unseen_weight=0.1)
    # An English question matches no French word: its words are "unseen", which must not count against it.
    hit = _hit(evidence=0.8, similarity=0.8, rare=0.0, unseen=1.0)
    assert policy.confidence(hit, cross_lingual=True) == pytest.approx(1.6)
    assert policy.abstains([hit])  # judged as a same-language question: 1.5 < 1.7
    assert not policy.abstains([hit], cross_lingual=True)  # 1.6 >= 1.55
    assert policy.abstains([_hit(evidence=0.75, similarity=0.75)], cross_lingual=True)


def test_no_hits_abstain_and_hits_without_vectors_do_not():
    policy = AbstainPolicy(threshold=1.7)
    assert policy.abstains([])
    assert policy.best([Hit(1, 1.0, Passage("a:0", "a", 0, "abc", 0, 3), ArticleInfo("a", "A"))]) is None
    assert not policy.abstains([Hit(1, 1.0, Passage("a:0", "a", 0, "abc", 0, 3), ArticleInfo("a", "A"))])


def test_the_policy_comes_from_the_settings():
    s = Settings(
        _env_file=None,
        abstain_below=1.2,
        abstain_below_cross_lingual=1.1,
        abstain_passage_weight=0.5,
        abstain_coverage_weight=0.3,
        abstain_unseen_weight=0.2,
        abstain_below_cross_lingual_tokens=0.7,
    )
    assert abstain_policy(s) == AbstainPolicy(1.2, 1.1, 0.5, 0.3, 0.2, cross_lingual_token_threshold=0.7)
    assert abstain_policy(s.with_changes(abstain_below_cross_lingual_tokens=0.0)).cross_lingual_token_threshold is None


def test_a_question_across_languages_is_judged_on_its_token_match_when_given():
    policy = AbstainPolicy(threshold=1.7, cross_lingual_threshold=1.55, cross_lingual_token_threshold=0.76)
    hit = _hit(evidence=0.8, similarity=0.8)  # cosines 1.6: enough for the cosine threshold
    assert policy.abstains([hit], cross_lingual=True, token_match=0.70)  # the question's words are not there
    assert not policy.abstains([hit], cross_lingual=True, token_match=0.80)
    assert not policy.abstains([hit], cross_lingual=True)  # no token states: judged on the cosines
    assert policy.abstains([hit], token_match=0.99)  # a same-language question keeps its confidence: 1.6 < 1.7
    assert policy.score([hit], cross_lingual=True, token_match=0.7) == 0.7


def test_the_answerer_refuses_an_english_question_whose_tokens_no_passage_holds():
    """Token states (the fake's: one hashed vector per word) judge a question across languages: the
    best passage's cosines would let it through, its words are nowhere in the passages."""
    policy = AbstainPolicy(threshold=1.7, cross_lingual_threshold=1.55, cross_lingual_token_threshold=0.4)
    embedder = FakeEmbedder()
    answerer = ExtractiveAnswerer(policy, corpus_language="french", late=LateInteraction(lambda: embedder))
    passage = Passage("a:0", "a", 0, "Le traité signé par Poutine et Kim Jong-un prévoit une aide mutuelle.", 0, 70)
    hit = Hit(1, 1.0, passage, ArticleInfo("a", "A"), evidence=0.8, similarity=0.8)
    assert answerer.abstains("Who is the mayor of Paris?", [hit])
    assert not answerer.abstains("Did Poutine and Kim Jong-un sign it?", [hit])  # 3 of its 6 words
    no_tokens = ExtractiveAnswerer(policy, corpus_language="french")
    assert not no_tokens.abstains("Who is the mayor of Paris?", [hit])  # judged on the cosines: 1.6


def test_answerer_uses_the_cross_lingual_threshold_for_english_questions_on_french_articles():
    policy = AbstainPolicy(threshold=1.7, cross_lingual_threshold=1.55)
    answerer = ExtractiveAnswerer(policy, corpus_language="french")
    hits = [_hit(evidence=0.8, similarity=0.8)]
    assert not answerer.answer("What did the treaty include?", hits).abstained
    assert answerer.answer("Que prévoit le traité ?", hits).abstained


def test_hits_carry_the_passage_cosine_rare_coverage_and_unseen_share(engine: Engine):
    [hit] = engine.search("Que dit le traité sur l'aide réciproque en cas d'attaque ?", 1)
    assert hit.similarity is not None and 0 < hit.similarity <= 1.0001
    assert hit.unseen == 0.0  # every word is in the articles
    assert 0 < hit.rare_coverage <= 1
    [odd] = engine.search("Que dit le traité sur les zorglubs ?", 1)
    assert odd.unseen == pytest.approx(1 / 2)  # of its content words, "traité" is there, "zorglubs" nowhere
    # how a request is put is not what it asks: "Parle-moi de l'Aurus" misses no word the articles lack
    asked = engine.search("Parle-moi de l'Aurus", 10)
    car = next(h for h in asked if "Aurus" in h.passage.text)
    assert car.unseen == 0.0 and car.rare_coverage == 1.0
    # a rare word found weighs more than a common one: "Aurus" (one passage) adds more to the hit
    # holding it and "Kim" than "Kim" (most passages, and titles) gives a hit holding it alone
    hits = engine.search("Aurus voiture Kim", 10)
    car = hits[0]
    kim = next(h for h in hits if "Aurus" not in h.passage.text and "Kim" in h.passage.text)
    assert "Aurus" in car.passage.text and "Kim" in car.passage.text
    assert car.rare_coverage - kim.rare_coverage > kim.rare_coverage > 0


def test_passages_are_encoded_with_their_title_and_a_change_re_encodes(tmp_path: Path):
    embedder = FakeEmbedder()
    engine = Engine(make_settings(tmp_path), encoders=fake_encoders(embedder))
    engine.index()
    snap = engine.snapshot()
    passage, article = snap.passages([0])[0]
    assert snap.manifest.chunking["title_context"] is True
    titled = FakeEmbedder().encode([f"{article.title}\n\n{passage.text}"])[0]
    assert float(snap.dense["embedding"].reconstruct(0) @ titled) > 0.999
    assert ChunkSettings(title_context=False).embedding_text(passage, article.title) == tidy(passage.text)

    plain = Engine(make_settings(tmp_path, embed_titles=False), encoders=fake_encoders(embedder))
    report = plain.index()
    assert report.full_rebuild and report.embedded_passages == report.passages
    assert "title_context" not in plain.snapshot().manifest.chunking
    bare = FakeEmbedder().encode([plain.snapshot().passages([0])[0][0].text])[0]
    assert float(plain.snapshot().dense["embedding"].reconstruct(0) @ bare) > 0.999


def test_the_treaty_article_title_is_what_its_passages_are_read_with(engine: Engine):
    rows = engine.snapshot().article_rows(TREATY_ARTICLE)
    _, article = engine.snapshot().passages(rows[:1])[0]
    assert article.title  # a title to read, so the title context applies to the seeds


def test_search_defaults_are_the_settings_defaults():
    """A Searcher made without settings (a question finishing on an old version) ranks like the engine."""
    from retrieval.config import search_settings
    from retrieval.options import FusionWeights

    assert search_settings(Settings(_env_file=None)).weights == FusionWeights()


def test_a_question_naming_what_no_article_holds_is_refused_in_the_articles_language(engine: Engine):
    """ "Que pense Macron de la visite ?" finds passages about the visit; the seeds never name Macron.
    A typo of a name they hold ("Stoltemberg") is theirs; an English question's names may be spelt
    otherwise in French ("Putin", "Moscow"): it is judged on its token match as before."""
    answerer = ExtractiveAnswerer(AbstainPolicy())  # a threshold of 0: only the name refuses
    macron = engine.search("Que pense Macron de la visite ?", 5)
    assert macron[0].unseen_name == "Macron"
    assert answerer.answer("Que pense Macron de la visite ?", macron).abstained
    typo = engine.search("Que pense Stoltemberg de la visite ?", 5)
    assert typo[0].unseen_name is None
    assert not answerer.answer("Que pense Stoltemberg de la visite ?", typo).abstained
    assert engine.search("What does Macron think of the visit?", 5)[0].unseen_name is None
    assert not ExtractiveAnswerer(AbstainPolicy(unseen_names=False)).answer("Que pense Macron ?", macron).abstained


@pytest.mark.parametrize(
    ("question", "names"),
    [
        ("Que pense Macron de la visite ?", ["Macron"]),
        ("Qu'a dit Kim Jong-un à Vladimir Poutine ?", ["Kim", "Jong-un", "Vladimir", "Poutine"]),
        ("Poutine a-t-il signé ?", []),  # a sentence's first word may be any word
        ("Contre qui a eu lieu la finale de NHL ?", []),  # acronyms are often spelt otherwise
        ("Que fait Louis XIV en 1672 ?", ["Louis"]),
        ("Par quoi se caractérise le XVIIIième siècle ?", []),
        ("QUI EST KIM ?", []),
    ],
)
def test_the_names_a_question_holds(question, names):
    assert names_in(question) == names


def test_close_spellings():
    spellings = Spellings(["struthof", "gesualdo", "poutin", "kim"])
    assert spellings.close("strutthof") and spellings.close("guesaldo")
    assert not spellings.close("macron") and not spellings.close("kin")  # short terms must match exactly
