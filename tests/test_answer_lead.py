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
from retrieval.answers.authorship import article_subject, asks_who_wrote
from retrieval.answers.extractive import NOT_FOUND, NOTHING_MORE, NOTHING_YET, ExtractiveAnswerer
from retrieval.answers.followup import FollowUp, answer_language, asks_for_more, is_follow_up, subject_words
from retrieval.corpus.analysis import Analyzer
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
    return text.split("\n")


ANSWERER = ExtractiveAnswerer(AbstainPolicy(threshold=0.5, coverage_weight=0.4))
SIGNED = "Le 19 juin, Vladimir Poutine, le chef d’État russe, et Kim Jong-un, le leader de la Corée du Nord"
COULD_SIGN = "Les deux pays pourraient signer un accord de partenariat stratégique"
TWO_HOURS = "La durée des discussions entre les deux leaders a été d’environ deux heures"
PUTIN_VISIT = "Le président russe doit effectuer une visite d'Etat de deux jours dans le pays."
EARLIER_VISIT = "Sa précédente et première visite en Corée du Nord remonte à près de 25 ans."
USHAKOV = "Le conseiller présidentiel russe, Yury Ushakov, a récemment déclaré aux journalistes"


def test_the_answering_sentence_comes_first_even_from_a_lower_ranked_passage(seeds):
    treaty = seeds[TREATY_ARTICLE]
    hits = [
        hit(treaty, 1, 1.0, sentence(treaty, UNDISCLOSED, 0.6, 0.0), sentence(treaty, GIFTS, 0.45, 0.0)),
        hit(treaty, 2, 0.95, sentence(treaty, MUTUAL_AID, 0.86, 0.5)),
    ]
    answer = ANSWERER.answer("What did the treaty include?", hits)
    lines = statements(answer.text)
    assert lines[0].startswith(MUTUAL_AID) and lines[0].endswith("[1]")
    assert answer.citations[0].passage == hits[1].passage  # [1] is the passage that answers
    assert answer.quotes[0].text.startswith(MUTUAL_AID) and answer.quotes[0].article_id == TREATY_ARTICLE
    assert GIFTS not in answer.text  # far less likely than the answer: not quoted


def test_the_lead_holds_the_kind_of_answer_the_question_asks_for(seeds):
    """Two sentences alike in every score; "when" takes the one with a date, "how long" the duration."""
    treaty = seeds[TREATY_ARTICLE]
    dated, lasting = sentence(treaty, SIGNED, 0.8, 0.0), sentence(treaty, TWO_HOURS, 0.8, 0.0)
    hits = [hit(treaty, 1, 1.0, dated), hit(treaty, 2, 1.0, lasting)]
    assert ANSWERER.answer("When did the two leaders meet?", hits).quotes[0].text.startswith(SIGNED)
    assert ANSWERER.answer("Combien de temps ont duré les discussions ?", hits).quotes[0].text.startswith(TWO_HOURS)


@pytest.mark.parametrize(
    "question",
    [
        "What did Kim call Putin?",
        "How did he describe the pact?",
        "Qu'a déclaré Kim ?",
        "Comment Kim a-t-il qualifié le pacte ?",
    ],
)
def test_a_question_about_someone_s_words_is_answered_with_their_words(seeds, question):
    """Alike in every score, the sentence that quotes Kim leads over the one reporting the signing."""
    treaty = seeds[TREATY_ARTICLE]
    signed, quoted = sentence(treaty, SIGNED, 0.8, 0.0), sentence(treaty, BEST_FRIEND, 0.8, 0.0)
    hits = [hit(treaty, 1, 1.0, signed), hit(treaty, 2, 1.0, quoted)]
    assert ANSWERER.answer(question, hits).quotes[0].text.startswith(BEST_FRIEND)
    assert ANSWERER.answer("What happened on 19 June?", hits).quotes[0].text.startswith(SIGNED)


def test_a_follow_up_that_only_names_a_new_subject_asks_for_the_previous_kind():
    """ "And about the West?" after "What did Putin say…?" asks for his words; "Et où ?" for a place,
    "Qu'ont-ils vu ?" for what they saw, whatever the previous question asked."""
    assert FollowUp("And about the West?", previous_kind="words").kind == "words"
    assert FollowUp("Et la Chine ?", previous_kind="date").kind == "date"
    assert FollowUp("Et où ?", previous_kind="words").kind == "place"
    assert FollowUp("Qu'ont-ils vu ?", previous_kind="reason").kind is None


def test_reranking_adds_the_token_match_to_the_fused_score_and_renumbers(seeds):
    from retrieval.answers.late import reranked

    treaty = seeds[TREATY_ARTICLE]
    hits = [
        hit(treaty, r, score, sentence(treaty, opening, 0.8, 0.0))
        for r, score, opening in ((1, 1.0, SIGNED), (2, 0.9, MUTUAL_AID), (3, 0.5, BEST_FRIEND), (4, 0.4, UNDISCLOSED))
    ]
    out = reranked(hits, [0.70, 0.80, 0.60], weight=2.0)  # the first three re-read: +1, +2, +0
    assert [h.passage.text[:12] for h in out] == [hits[i].passage.text[:12] for i in (1, 0, 2, 3)]
    assert [h.rank for h in out] == [1, 2, 3, 4]
    assert [round(h.score, 6) for h in out] == [2.9, 2.0, 0.5, 0.4]
    assert reranked(hits, [0.7], weight=2.0) == hits  # one passage read: nothing to re-order


def test_a_stated_fact_leads_and_speculation_never_pads_it(seeds):
    treaty, visit = seeds[TREATY_ARTICLE], seeds["004_34fdb793e7d525a8"]
    fact, could = sentence(treaty, SIGNED, 0.8, 0.3), sentence(visit, COULD_SIGN, 0.8, 0.3)
    hits = [hit(visit, 1, 1.0, could), hit(treaty, 2, 1.0, fact)]
    answer = ANSWERER.answer("Qui a signé l'accord ?", hits)
    assert answer.quotes[0].text.startswith(SIGNED)
    assert all(not q.text.startswith(COULD_SIGN) for q in answer.quotes)


def test_a_plan_answers_a_question_about_what_comes_next(seeds):
    """ "Where will he go next?" is answered by what should happen; "Where did he go?" by what did."""
    talks = seeds[TALKS_ARTICLE]
    went = sentence(talks, "Le président russe Vladimir Poutine s’est rendu le 18 juin à Pyongyang", 0.8, 0.3)
    plan = sentence(talks, "Après avoir quitté Pyongyang le 19 juin", 0.8, 0.3)
    hits = [hit(talks, 1, 1.0, went, plan)]  # alike in every score
    assert ANSWERER.answer("Where will Putin go next?", hits).quotes[0].text.startswith("Après avoir quitté")
    assert ANSWERER.answer("Et où va-t-il ensuite ?", hits).quotes[0].text.startswith("Après avoir quitté")
    assert ANSWERER.answer("Where did Putin go?", hits).quotes[0].text.startswith("Le président russe")


def test_a_statement_found_lower_takes_the_place_of_the_speculation_it_settles(seeds):
    """The passages read first only say the treaty could be signed; one found fourth says what the
    signed one holds: it leads, cited with its own number."""
    treaty, visit = seeds[TREATY_ARTICLE], seeds["004_34fdb793e7d525a8"]
    could = sentence(visit, COULD_SIGN, 0.85, 0.5)
    hits = [
        hit(visit, 1, 1.0, could),
        hit(visit, 2, 0.9, sentence(visit, PUTIN_VISIT, 0.7, 0.0)),
        hit(visit, 3, 0.9, sentence(visit, EARLIER_VISIT, 0.7, 0.0)),
        hit(treaty, 4, 0.7, sentence(treaty, MUTUAL_AID, 0.82, 0.0)),
    ]
    answer = ANSWERER.answer("Que prévoit l'accord ?", hits)
    assert answer.quotes[0].text.startswith(MUTUAL_AID)
    assert answer.citations[0].article.id == TREATY_ARTICLE
    assert all(not q.text.startswith(COULD_SIGN) for q in answer.quotes)
    # Nothing found settles it: the speculation is what the articles say.
    alone = ANSWERER.answer("Que prévoit l'accord ?", hits[:3])
    assert alone.quotes[0].text.startswith(COULD_SIGN)


def test_a_statement_does_not_take_the_place_of_a_speculation_by_someone_the_question_names(seeds):
    """ "Qui est Yury Ushakov ?" is answered by what he said would happen, not by what did."""
    talks, treaty = seeds[TALKS_ARTICLE], seeds[TREATY_ARTICLE]
    hits = [
        hit(talks, 1, 1.0, sentence(talks, USHAKOV, 0.85, 1.0)),
        hit(treaty, 2, 0.8, sentence(treaty, MUTUAL_AID, 0.8, 0.0)),
    ]
    answer = ANSWERER.answer("Qui est Yury Ushakov ?", hits)
    assert answer.quotes[0].text.startswith(USHAKOV)
    settled = ANSWERER.answer("Que dit le conseiller du traité ?", hits)
    assert settled.quotes[0].text.startswith(MUTUAL_AID)


def test_a_near_duplicate_never_follows(seeds):
    treaty = seeds[TREATY_ARTICLE]
    first = sentence(treaty, MUTUAL_AID, 0.85, 0.5)
    again = replace(first, char_start=first.char_start + 1)  # the same words, as a wire copy elsewhere
    answer = ANSWERER.answer("What did the treaty include?", [hit(treaty, 1, 1.0, first), hit(treaty, 2, 1.0, again)])
    assert len(answer.quotes) == 1


def test_a_second_sentence_comes_from_another_passage(seeds):
    """The lead's passage is cited already (whole on request): a second quote is a second piece of
    evidence, from a passage not yet quoted, where the answer may lie when the lead's misses it."""
    treaty = seeds[TREATY_ARTICLE]
    aid, friend = sentence(treaty, MUTUAL_AID, 0.85, 0.5), sentence(treaty, BEST_FRIEND, 0.84, 0.5)
    one_passage = ANSWERER.answer("What did the treaty include?", [hit(treaty, 1, 1.0, aid, friend)])
    assert [q.text[:20] for q in one_passage.quotes] == [MUTUAL_AID[:20]]
    two_passages = ANSWERER.answer(
        "What did the treaty include?", [hit(treaty, 1, 1.0, aid), hit(treaty, 2, 1.0, friend)]
    )
    assert [(q.text[:20], q.n) for q in two_passages.quotes] == [(MUTUAL_AID[:20], 1), (BEST_FRIEND[:20], 2)]


def test_a_follow_up_is_answered_with_something_the_previous_answer_did_not_quote(seeds):
    visit = seeds["004_34fdb793e7d525a8"]
    quoted, other = sentence(visit, PUTIN_VISIT, 0.8, 0.0), sentence(visit, EARLIER_VISIT, 0.8, 0.0)
    hits = [hit(visit, 1, 1.0, quoted, other)]
    fresh = ANSWERER.answer("Et avant ?", hits)
    follow_up = FollowUp("Et avant ?", frozenset({(visit.id, quoted.char_start)}), elliptical=True)
    again = ANSWERER.answer("Combien de jours ? Et avant ?", hits, follow_up=follow_up)
    assert fresh.quotes[0].text == quoted.text  # alike, the first in the passage leads
    assert again.quotes[0].text == other.text
    # A follow-up with words of its own asks for them, wherever they are: the sentence just quoted too.
    own = FollowUp("Combien de jours dure-t-elle ?", frozenset({(visit.id, quoted.char_start)}))
    asked = ANSWERER.answer("Combien de jours ? Combien de jours dure-t-elle ?", hits, follow_up=own)
    assert asked.quotes[0].text == quoted.text


def test_an_elliptical_follow_up_reads_again_the_passage_just_quoted(seeds):
    """ "Quand ?" after "Pourquoi Kim a-t-il écrit à Poutine ?": searched with the question before it,
    the letter's passage came fourth, past the three an answer reads, and a sentence with no date led.
    The passage quoted last time is read again; a follow-up with words of its own reads as found."""
    letter_article, treaty = seeds["002_3620be85bbcd42ef"], seeds[TREATY_ARTICLE]
    letter = sentence(letter_article, "Kim a fait cette promesse dans une lettre", 0.8, 0.0)
    hits = [
        hit(treaty, 1, 1.0, sentence(treaty, BEST_FRIEND, 0.8, 0.0)),
        hit(treaty, 2, 1.0, sentence(treaty, UNDISCLOSED, 0.8, 0.0)),
        hit(treaty, 3, 1.0, sentence(treaty, GIFTS, 0.8, 0.0)),
        hit(letter_article, 4, 0.9, letter),
    ]
    quoted = frozenset({(letter_article.id, letter.char_start)})
    searched = "Pourquoi Kim a-t-il écrit à Poutine ? Quand ?"
    when = ANSWERER.answer(searched, hits, follow_up=FollowUp("Quand ?", quoted, elliptical=True))
    assert when.quotes[0].text == letter.text and when.citations[0].passage == hits[3].passage
    own = ANSWERER.answer(searched, hits, follow_up=FollowUp("Quand le pacte a-t-il été conclu ?", quoted))
    assert all(q.text != letter.text for q in own.quotes)


def test_a_follow_up_may_quote_again_the_sentence_that_holds_what_it_asks(seeds):
    """ "Where did he say this?": the sentence quoted last time names the place (« À Vostotchny, … »);
    it is not passed over for a new sentence that does not. "Et avant ?" still gets something new."""
    summit = seeds["003_79011271dbdc1a5f"]
    quoted = sentence(summit, "À Vostotchny, Vladimir Poutine a évoqué", 0.8, 0.0)
    other = sentence(summit, "Le dirigeant de la Corée du Nord montre un grand intérêt", 0.8, 0.0)
    hits = [hit(summit, 1, 1.0, quoted, other)]
    follow_up = FollowUp("Where did he say this?", frozenset({(summit.id, quoted.char_start)}))
    assert (
        ANSWERER.answer("Why does Pyongyang need help? Where did he say this?", hits, follow_up=follow_up)
        .quotes[0]
        .text.startswith("À Vostotchny")
    )


def test_quotes_and_their_offsets_are_the_file_s_own(seeds):
    treaty = seeds[TREATY_ARTICLE]
    answer = ANSWERER.answer(
        "What did the treaty include?", [hit(treaty, 1, 1.0, sentence(treaty, MUTUAL_AID, 0.9, 0.5))]
    )
    source = (SEEDS / treaty.path).read_text(encoding="utf-8")
    for q in answer.quotes:
        assert " ".join(source[q.char_start : q.char_end].split()) == q.text


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


@pytest.mark.parametrize(
    ("question", "subject"),
    [
        ("Qui a écrit l'article sur le pacte ?", "le pacte"),
        ("Who wrote the article about Putin's talks in Pyongyang?", "Putin's talks in Pyongyang"),
        ("Qui est l’auteur de l’article sur le traité ?", "le traité"),
        ("Which news agency is credited on the story about Kim's invitation?", "Kim's invitation"),
        ("Qui a écrit l'article à propos de la visite ?", "la visite"),
        ("Qui a écrit l'article ?", None),
        ("Que dit-on du traité ? Qui a écrit cet article ?", None),  # the question asked last decides
    ],
)
def test_the_subject_of_the_article_a_who_wrote_question_means(question, subject):
    assert article_subject(question) == subject


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


@pytest.mark.parametrize(
    ("question", "follows"),
    [
        ("and when?", True),
        ("when?", True),
        ("Et où ?", True),
        ("Pourquoi ?", True),
        ("and who else?", True),
        ("Qu'a-t-il reçu en retour ?", True),
        ("Qu'ont-ils vu ?", True),
        ("Où travaille-t-il ?", True),  # the inverted pronoun's verb names no subject
        ("Que prévoit-elle ?", True),
        ("Qui l'a annoncé ?", True),  # an object pronoun: an article never precedes an auxiliary
        ("Qui les a imposées ?", True),
        ("On what occasion?", True),  # its only word is what "what" asks for
        ("En quelle année ?", True),
        ("Par quel moyen ?", True),
        ("Quelle marque ?", True),  # what the car just named is called
        ("Combien de temps y est-il resté ?", True),  # "combien de temps" names no subject for "il"
        ("How did he describe the pact?", True),
        ("Which of them signed?", True),
        ("What about the West?", True),
        ("Et ensuite ?", True),
        ("And then?", True),
        ("How did the South respond?", True),  # to what was just said
        ("Comment la Chine a-t-elle réagi ?", True),
        # Complete questions, whatever articles or pronoun-like words they hold.
        ("Qui a signé le traité ?", False),
        ("Que prévoit la déclaration commune sur les sanctions ?", False),
        ("Quel est le nom officiel de la Corée du Nord ?", False),
        ("Qui a signé l'accord avec la Russie ?", False),
        ("Combien de bananes ?", False),  # what "combien" asks for is a subject here, not a kind
        ("Les États-Unis ont-ils réagi ?", False),
        ("How did South Korea respond to the incursion?", False),  # it says to what
        ("Pourquoi Kim a-t-il accepté l'invitation de Poutine ?", False),
        ("Since when have Moscow and Pyongyang been allies?", False),
        ("banderoles ?", False),
    ],
)
def test_follow_ups_are_told_from_complete_questions(question, follows):
    assert is_follow_up(question, Analyzer("french")) is follows


@pytest.mark.parametrize(
    ("question", "subject"),
    [
        ("Et ensuite ?", []),  # what comes next names no subject: elliptical, about the previous one
        ("And then?", []),
        ("Where did he go next?", []),
        ("Et où va-t-il ensuite ?", []),
        ("Which base will Vostotchny replace next?", ["base", "vostotchny", "replace"]),
    ],
)
def test_what_comes_next_names_no_subject(question, subject):
    assert subject_words(question, Analyzer("french")) == subject


def test_answer_language_is_the_follow_up_s_own_unless_it_has_no_telling_word():
    assert answer_language("et quand ?", "en") == "fr"
    assert answer_language("and when?", "fr") == "en"
    assert answer_language("Kim ?", "en") == "en"  # nothing in it tells: the chat's language
    assert answer_language("2019?", "fr") == "fr"
    assert answer_language("Kim ?", None) == "fr"


def spoken(answer) -> str:
    """The language the answer's own words are in: a refusal's, or the language it says it speaks
    (quotes are the articles' own words)."""
    if answer.abstained:
        return next(language for language, text in NOT_FOUND.items() if answer.text == text)
    return answer.language


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


@pytest.mark.parametrize(
    ("message", "more"),
    [
        ("Tell me more", True),
        ("tell me more please", True),
        ("More?", True),
        ("And what else?", True),
        ("go on", True),
        ("Dis-m'en plus", True),
        ("dites-m’en plus, s'il vous plaît", True),
        ("Et encore ?", True),
        ("Quoi d'autre ?", True),
        ("plus de détails", True),
        ("la suite", True),
        ("et plus encore ?", True),
        # a question of its own, or one that asks for something besides what was told
        ("Tell me more about the treaty", False),
        ("Who else?", False),
        ("Encore une question : qui a signé ?", False),
        ("Plus de combien ?", False),
        ("What more did Kim say?", False),
    ],
)
def test_a_request_for_more_is_told_from_a_question(message: str, more: bool):
    assert (asks_for_more(message) is not None) is more


def test_a_request_for_more_tells_its_language():
    assert [asks_for_more(m) for m in ("tell me more", "go on", "encore", "Et encore ?", "plus d'infos")] == [
        "en",
        "en",
        "fr",
        "fr",
        "fr",
    ]


def quoted_starts(answer) -> set[tuple[str, int]]:
    return {(q.article_id, start) for q in answer.quotes for start in q.starts}


def test_more_tells_what_the_answers_did_not_quote_yet_until_there_is_nothing_more(engine: Engine):
    """ "Tell me more" was searched as a question of its own (it quoted whatever matched "tell"), and
    « Dis-m'en plus » was refused. It asks the previous question again: each answer quotes only what
    the chat was not told yet, in the language asked, until the passages read hold nothing more."""
    first = engine.ask("Que prévoit le traité ?", chat="m")
    told, answers = quoted_starts(first), []
    for request in ("tell me more", "Dis-m'en plus", *["et encore ?"] * 8):
        answer = engine.ask(request, chat="m")
        answers.append(answer)
        if answer.abstained:
            break
        assert not quoted_starts(answer) & told, request  # nothing told twice
        assert engine.conversations.previous("m") == "Que prévoit le traité ?"  # still about the treaty
        told |= quoted_starts(answer)
    assert answers[0].language == "en" and answers[1].language == "fr"
    assert answers[-1].abstained and answers[-1].text == NOTHING_MORE["fr"], [a.text for a in answers]
    assert len(answers) >= 3  # the first requests had something new to tell
    # nothing asked before: a fresh chat, a chat started over, a single question
    assert engine.ask("tell me more", chat="other").text == NOTHING_YET["en"]
    engine.forget("m")
    assert engine.ask("Dis-m'en plus", chat="m").text == NOTHING_YET["fr"]
    assert engine.ask("tell me more").abstained


def test_more_after_who_wrote_says_the_bylines_were_all(engine: Engine):
    """The bylines were told again at each request for more."""
    assert not engine.ask("Qui a écrit l'article sur le traité ?", chat="w").abstained
    assert engine.ask("tell me more", chat="w").text == NOTHING_MORE["en"]


def test_late_interaction_matches_the_question_token_by_token():
    from retrieval.answers.late import LateInteraction

    from .support import FakeEmbedder

    late = LateInteraction(lambda: FakeEmbedder())
    scores = late.scores(
        "Qui a offert une Aurus ?", ["Poutine a offert une Aurus à Kim.", "Le sommet a duré deux heures."]
    )
    assert scores is not None and scores[0] > scores[1]
    assert LateInteraction(lambda: None).scores("Qui ?", ["Une phrase."]) is None  # no token states: no signal


def test_late_interaction_encodes_a_text_it_has_read_once_within_its_budget():
    """Each English question re-read its ten passages token by token, encoding them again for
    a follow-up or another user's question about the same articles; one answer encoded its own
    question again at each reading (passages, then sentences)."""
    from retrieval.answers.late import LateInteraction

    from .support import FakeEmbedder

    embedder = FakeEmbedder()
    passages = ["Poutine a offert une Aurus à Kim.", "Le sommet a duré deux heures.", "Kim a reçu une Aurus."]
    late = LateInteraction(lambda: embedder)
    first = late.scores("Qui a offert une Aurus ?", passages[:2])
    before = embedder.calls
    assert late.scores("Qui a offert une Aurus ?", passages[:2]) == first
    assert embedder.calls == before  # the question and its passages, all kept
    late.scores("Et Kim ?", passages)
    assert embedder.calls == before + 2  # the new question and the one new passage

    tight = LateInteraction(lambda: embedder, cache_bytes=1)  # no passage fits: every one read afresh
    tight.scores("Qui ?", passages)
    before = embedder.calls
    assert tight.scores("Qui ?", passages) == late.scores("Qui ?", passages) and embedder.calls == before + 3 + 1
