"""Hybrid retrieval: analysis, the lexical index, cross-lingual expansion, fusion, abstention."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from bot.cli import CliContext, app
from retrieval import Engine
from retrieval.corpus.analysis import Analyzer, detect_language, fold_accents, words, written_language
from retrieval.options import FusionWeights, SearchSettings
from retrieval.search.hybrid import Searcher
from retrieval.stores.bm25 import LexicalIndex, weighted_query_terms
from retrieval.stores.snapshot import open_current

from .support import DEV_QA, SEEDS, TREATY_ARTICLE


def test_words_and_accent_folding():
    assert words("L’accord d'aide réciproque") == ["l", "accord", "d", "aide", "réciproque"]
    assert fold_accents("Choïgou à Séoul") == "Choigou a Seoul"


def test_analyzer_stems_french_and_drops_stop_words():
    terms = Analyzer().terms("Les sanctions imposées aux États-Unis et la sanction imposée")
    assert "les" not in terms and "et" not in terms and "la" not in terms
    assert terms.count(terms[0]) == 2  # sanctions / sanction share a stem
    assert "etat" in terms  # accent folded before stemming


@pytest.mark.parametrize(
    ("asked", "plain"),
    [
        ("Parle-moi de l'Aurus", "l'Aurus"),
        ("Dites-le-nous : qui a signé le traité ?", "qui a signé le traité ?"),
        ("Peux-tu me parler du pacte ?", "du pacte ?"),
        ("Pouvez-vous m’expliquer le pacte ?", "le pacte ?"),
        ("Tell me about the Aurus", "the Aurus"),
        ("Résume l'article sur le pacte", "l'article sur le pacte"),
        ("Explain the treaty", "the treaty"),
    ],
)
def test_the_verb_of_a_request_is_no_word_to_match(asked: str, plain: str):
    assert Analyzer().asked_words(asked) == Analyzer().asked_words(plain)


def test_a_verb_asked_about_is_a_word_to_match():
    # a verb the question asks about stays, even one a request could use; "-il" is its subject
    assert Analyzer().asked_words("Qu'a-t-il expliqué ?") == ["expliqué"]
    assert Analyzer().asked_words("Où va-t-il ensuite ?") == ["ensuite"]
    assert "raconte" in Analyzer().asked_words("Que raconte Poutine ?")
    assert "explique" in Analyzer().asked_words("Pourquoi Poutine explique-t-il ce choix ?")


@pytest.mark.parametrize(
    ("feminine", "other"),
    [
        ("sanctionnée", "sanctions"),  # "Pourquoi la Corée du Nord est-elle sanctionnée ?"
        ("signée", "signé"),
        ("signées", "signer"),
        ("créée", "créé"),
        ("Corée", "coree"),  # typed without accents
        ("durée", "duree"),
    ],
)
def test_a_feminine_participle_meets_its_masculine_with_or_without_accents(feminine: str, other: str):
    analyzer = Analyzer()
    assert analyzer.terms(feminine) == analyzer.terms(other)


def test_only_french_strips_a_folded_feminine_ending():
    assert Analyzer("english").terms("committee") != Analyzer("english").terms("committe")
    assert Analyzer().as_dict()["accents"] != Analyzer("english").as_dict()["accents"]


@pytest.mark.parametrize(
    ("question", "lang"),
    [
        ("What did the treaty include?", "en"),
        ("Who wrote the article about Putin's talks in Pyongyang?", "en"),
        ("Que prévoit le traité ?", "fr"),
        ("Comment Kim appelle-t-il Poutine ?", "fr"),
        ("Quelle base spatiale le cosmodrome doit-il remplacer ?", "fr"),
        # A name's words say nothing of the language around it ("Un", "Le" are French words).
        ("Is Kim Jong Un married?", "en"),
        ("What did Le Monde report?", "en"),
        ("Kim Jong Un est-il marié ?", "fr"),
        ("Is Kim Jong-un married?", "en"),
        ("Où est La Paz ?", "fr"),
        ("Le traité ? Et la Corée ?", "fr"),
        ("WHERE IS KIM JONG UN?", "en"),
        # An apostrophe before "s" is English's possessive; French elides "s'" before a word.
        ("Is Kim Jong Un Putin's friend?", "en"),
        ("Putin’s treaty?", "en"),
        ("S'il a signé, quand ?", "fr"),
        # What people write to a bot besides questions.
        ("hello", "en"),
        ("thanks!", "en"),
        ("merci !", "fr"),
        ("Bonjour", "fr"),
        # Other languages multilingual-e5 reads: their own function words and letters decide.
        ("¿Qué incluye el tratado?", "es"),
        ("¿Cuándo fue la visita anterior de Putin a Corea del Norte?", "es"),
        ("Wer begleitete Putin nach Pjöngjang?", "de"),
        ("Was sieht der Vertrag vor?", "de"),  # "was" is English too: German's words outnumber
        ("Chi è Yury Ushakov?", "it"),  # "è" alone is no French word
        ("Qual è il fiume più lungo d'Italia?", "it"),  # nor is "più" French for its "ù"
        ("Quem é Matthew Miller?", "pt"),
        ("O que inclui o tratado?", "pt"),
        ("¡Gracias!", "es"),  # a greeting or thanks of its own counts two
        ("Guten Tag", "de"),
        ("Grazie mille", "it"),
        ("Obrigado", "pt"),
        # French and English keep their words: "la", "de", "que" are Spanish too, "a" Portuguese.
        ("Que dit-on de la Corée ?", "fr"),
        ("Qui a été élu ?", "fr"),
        ("Où est-il allé ?", "fr"),
        ("Est-ce que la Russie a une base à Pyongyang ?", "fr"),
        ("Is there a place called Vostochny?", "en"),
        ("What did Miller say about Pyongyang?", "en"),
    ],
)
def test_language_detection(question, lang):
    assert detect_language(question) == lang


@pytest.mark.parametrize("text", ["https://example.com/story.html", "Kim", "missiles balistiques", "2019?"])
def test_a_text_without_a_language_tells_none(text):
    assert written_language(text) is None


def test_lexical_index_round_trip_without_pickle(tmp_path):
    docs = [["traite", "aide"], ["aide", "aide", "sanction"], ["missil"]]
    index = LexicalIndex.build(docs)
    index.save(tmp_path)
    loaded = LexicalIndex.load(tmp_path)  # np.load(..., allow_pickle=False) inside
    assert loaded.vocab == index.vocab
    full = loaded.scores({"aide": 1.0})
    assert full[2] == 0 and full[0] > 0 and full[1] > 0
    half = loaded.scores({"aide": 0.5})
    assert np.allclose(half, full / 2)
    assert loaded.scores({"unknown": 1.0}).sum() == 0


def test_expansion_weights_never_exceed_typed_terms():
    analyzer = Analyzer()
    terms = weighted_query_terms(
        "treaty sanctions", analyzer, {"treaty": [("traité", 0.8), ("sanctions", 0.9)], "sanctions": []}
    )
    assert terms[analyzer.terms("traité")[0]] == pytest.approx(0.8)
    assert terms[analyzer.terms("sanctions")[0]] == 1.0  # typed, stays 1
    assert max(terms.values()) <= 1.0


def test_each_signal_alone_and_fused(engine: Engine):
    snap = open_current(engine.settings.data_dir)
    question = "aide réciproque en cas d'attaque"
    for weights in (
        FusionWeights(bm25=1, multilingual=0, sentences=0, embedding=0),
        FusionWeights(bm25=0, multilingual=0, sentences=0, embedding=1),
        FusionWeights(),
    ):
        hits = Searcher(snap, engine.encoders, SearchSettings(weights=weights)).search(question, 3)
        assert hits[0].article.id == TREATY_ARTICLE and "aide réciproque" in hits[0].passage.text
        assert [h.rank for h in hits] == [1, 2, 3]
        assert all(a.score >= b.score for a, b in itertools.pairwise(hits))
        start, end = hits[0].sentence
        assert hits[0].passage.char_start <= start < end <= hits[0].passage.char_end
        assert hits[0].evidence is not None


def test_mean_returned_passage_is_citation_sized(engine: Engine):
    lengths = [len(h.passage.text) for q in ("sanctions", "missiles balistiques", "Kim") for h in engine.search(q, 5)]
    assert sum(lengths) / len(lengths) <= 700


# --- the real models ------------------------------------------------------------------------


@pytest.mark.slow
def test_cross_lingual_expansion_finds_french_words():
    """Expansion is off by default (e5 reads English questions well without it); with USE, the
    encoder it was built for, English words find their French counterparts among the articles'."""
    from retrieval.corpus.articles import load_articles
    from retrieval.encoders.embedding import UniversalSentenceEncoder
    from retrieval.options import ExpansionSettings
    from retrieval.stores.vocabulary import TermExpander

    use = UniversalSentenceEncoder()
    bodies = [a.body for a in load_articles(SEEDS).articles]
    expander = TermExpander.build(bodies, Analyzer("french"), use, max_vocabulary=50_000)
    words = ["treaty", "toast", "sanctions"]
    found = expander.neighbours(words, use.encode(words), ExpansionSettings())
    assert "traité" in [w for w, _ in found["treaty"]]
    assert "trinqué" in [w for w, _ in found["toast"]]
    assert "sanctions" in [w for w, _ in found["sanctions"]]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("question", "doc", "needle"),
    [
        ("What gift did Putin give Kim?", TREATY_ARTICLE, "Aurus"),
        ("Quel cadeau Poutine a-t-il offert à Kim ?", TREATY_ARTICLE, "Aurus"),
        ("Combien de temps ont duré les discussions entre les deux dirigeants ?", TREATY_ARTICLE, "deux heures"),
    ],
)
def test_english_and_french_questions_find_the_french_passage(real_engine: Engine, question, doc, needle):
    hits = real_engine.search(question, 5)
    assert any(h.article.id == doc and needle in h.passage.text for h in hits), [h.passage.text[:50] for h in hits]


@pytest.mark.slow
def test_who_wrote_is_answered_with_the_byline_with_the_real_models(real_engine: Engine):
    """The byline answers it from the article's metadata: the passage holding "Par Adam Morrow"
    need not rank in the top 5 itself (with e5 it does not)."""
    answer = real_engine.ask("Who wrote the article about Putin's talks in Pyongyang?")
    assert not answer.abstained and "Adam Morrow" in answer.text, answer.text


@pytest.mark.slow
def test_who_wrote_is_judged_on_the_subject_it_names(real_engine: Engine):
    """Read whole, "Qui a écrit l'article sur le pacte ?" matched the articles too little and was
    refused: the articles about the pact are searched, and named with their credits. A subject the
    articles do not cover is refused; a question naming no subject is answered from the articles found."""
    pact = real_engine.ask("Qui a écrit l'article sur le pacte ?")
    assert not pact.abstained and "médias russes" in pact.text and pact.language == "fr", pact.text
    assert real_engine.ask("Who wrote the article about the World Cup?").abstained
    anyone = real_engine.ask("Qui a écrit l'article ?")
    assert not anyone.abstained and anyone.text.startswith("L’article « "), anyone.text
    # In a conversation too, after another question: the bylines, not the pact's sentences.
    real_engine.ask("What did the treaty include?", chat="byline")
    again = real_engine.ask("Qui a écrit l'article sur le pacte ?", chat="byline")
    assert again.text == pact.text, again.text
    assert real_engine.conversations.previous("byline") == "Qui a écrit l'article sur le pacte ?"
    real_engine.forget("byline")


@pytest.mark.slow
def test_unanswerable_dev_questions_abstain_and_answerable_do_not(real_engine: Engine):
    assert real_engine.ask("What is the exchange rate of the euro against the dollar?").abstained
    assert real_engine.ask("Qui est le président de la Commission européenne ?").abstained
    assert not real_engine.ask("What did the treaty include?").abstained


@pytest.mark.slow
def test_a_request_is_answered_as_the_question_it_puts(real_engine: Engine):
    """ "Parle-moi de" is how the question is put: "parle" being a word no article uses once refused it."""
    answer = real_engine.ask("Parle-moi de l'Aurus")
    assert not answer.abstained and "Aurus" in answer.quotes[0].text


@pytest.mark.slow
def test_an_english_date_is_read_in_the_articles_language(real_engine: Engine):
    """ "18 June" is « 18 juin »: read as typed, the question's tokens matched the French passages
    too little (0.72) and it was refused; read with "juin", the sentence dated so answers it."""
    answer = real_engine.ask("What happened on 18 June?")
    assert not answer.abstained and "18 juin" in answer.quotes[0].text


def test_an_english_question_whose_words_no_passage_holds_is_refused_on_its_token_match(real_engine: Engine):
    """Its cosines with the best passage pass the cross-lingual cosine threshold; token by token,
    no passage holds what it asks. Short English questions on the articles still pass."""
    question = "What is the weather tomorrow?"
    hits = real_engine.search(question)
    assert not real_engine.settings.abstain_below_cross_lingual > max(
        (h.evidence or 0) + (h.similarity or 0) for h in hits
    )  # the cosines alone would answer it
    assert real_engine.ask(question).abstained
    on_topic = ("What did the treaty include?", "Who accompanied Putin on the trip?", "How did Kim get to Russia?")
    for answerable in on_topic:
        assert not real_engine.ask(answerable).abstained, answerable


def test_a_credit_line_is_no_evidence_for_the_token_match(real_engine: Engine):
    """ "France" is in a passage only as the credit "Agence France-Presse": searchable, never
    quotable, so the token match reads the passage without it and the question is refused."""
    from retrieval.answers.late import quotable_text

    question = "Who is the president of France?"
    hits = real_engine.search(question)[:3]
    credited = [h for h in hits if "France-Presse" in h.passage.text]
    assert credited, [h.passage.text[:60] for h in hits]
    assert all("France-Presse" not in quotable_text(h) for h in credited)
    assert real_engine.ask(question).abstained


@pytest.mark.parametrize(
    ("first", "follow_up", "answered"),
    [
        ("What is the Vostochny cosmodrome?", "When was it completed?", "2016"),
        ("What car did Putin give Kim?", "Where is it made?", "fabriqué en Russie"),
        ("What did the treaty include?", "And who is the mayor of Paris?", None),
    ],
)
def test_a_follow_up_across_languages_is_judged_with_the_subject_it_was_searched_with(
    real_engine: Engine, first: str, follow_up: str, answered: str | None
):
    """ "When was it completed?" names no subject: token by token, its own words alone matched no
    passage well enough and it was refused. Judged on what was searched (the previous question with
    it), it is answered; a follow-up about something the articles do not hold is still refused."""
    chat = f"c:{first}{follow_up}"
    assert not real_engine.ask(first, chat=chat).abstained
    answer = real_engine.ask(follow_up, chat=chat)
    if answered is None:
        assert answer.abstained
    else:
        assert not answer.abstained
        assert answered in answer.text, answer.text


@pytest.mark.parametrize(
    ("question", "lead"),
    [
        ("Who accompanied Putin on the trip?", "accompagné d’une délégation"),
        ("Which countries see the United States as an enemy?", "voient toutes deux les États-Unis comme un ennemi"),
    ],
)
def test_an_english_question_is_answered_from_the_passage_its_tokens_match_best(real_engine: Engine, question, lead):
    """Across languages the first passages are re-read token by token before the answer quotes them:
    the sentence that answers leads, where the fused ranking put another passage first."""
    answer = real_engine.ask(question)
    assert lead in answer.text.split("\n")[0], answer.text


@pytest.mark.slow
def test_words_cut_by_the_sentence_splitter_still_answer_what_someone_said(real_engine: Engine):
    """Stoltenberg's quotation runs over two sentences, so neither held a whole « … »: the sentence
    naming NATO and opening the quotation did not count as someone's words, and a sentence about a
    UN veto led."""
    answer = real_engine.ask("What did NATO say about the visit?")
    assert "Stoltenberg" in answer.text.split("\n")[0], answer.text


@pytest.mark.slow
def test_a_question_across_languages_reads_as_many_passages_as_it_re_ranks_whatever_top_k(real_engine: Engine):
    """`ask` searched RAGBOT_TOP_K (5) passages and re-ranked those, while the benches measured the
    re-ranking of 10: with top_k 1, "Who accompanied Putin on the trip?" was answered from the
    invitation the fused ranking put first. It now searches as deep as the answer re-reads."""
    engine = Engine(real_engine.settings.with_changes(top_k=1))
    question = "Who accompanied Putin on the trip?"
    assert engine.ask(question).text == real_engine.ask(question).text
    assert "accompagné d’une délégation" in engine.ask(question, chat="c").text.split("\n")[0]
    assert engine.extractive_answerer().depth("Qui accompagnait Poutine ?", 1) == 1  # same language: as asked


@pytest.mark.slow
def test_eval_on_the_dev_set_with_the_real_models(real_engine: Engine):
    """A regression floor a little under what the default configuration measures
    (R@5 0.89, MRR 0.81, 2/2 abstentions, no false ones), not the issue's targets."""
    result = CliRunner().invoke(app, ["eval", str(DEV_QA), "--json"], obj=CliContext(real_engine.settings))
    assert result.exit_code == 0, result.stderr
    rows = {r["slice"]: r for r in json.loads(result.stdout)["rows"]}
    assert rows["all"]["recall@5"] >= 0.83 and rows["all"]["mrr"] >= 0.72
    assert rows["en"]["recall@5"] >= 0.8 and rows["fr"]["recall@5"] >= 0.75
    assert rows["all"]["abstained_correctly"] == rows["all"]["unanswerable"] == 2
    assert rows["all"]["false_abstentions"] <= 1


def test_a_wire_copy_does_not_fill_the_top_k_twice(tmp_path, articles_dir):
    from .support import fake_encoders, make_settings

    original = articles_dir / f"{TREATY_ARTICLE}.txt"
    (articles_dir / "005_wire_copy.txt").write_text(original.read_text(encoding="utf-8"), encoding="utf-8")
    engine = Engine(make_settings(tmp_path, articles_dir=articles_dir), encoders=fake_encoders())
    engine.index()
    hits = engine.search("aide réciproque en cas d'attaque contre une des parties", 5)
    texts = [h.passage.text for h in hits]
    assert len(texts) == len(set(texts)) == 5
    assert sum("aide réciproque en cas d’attaque" in t for t in texts) == 1


def test_an_english_question_s_words_match_french_sentences_by_their_cognates(engine: Engine):
    """The articles' stemmer cuts "visit" to "vis", as it cuts "visant": an English question's words
    are matched by their first letters instead ("visit" and "visite"; not "visant")."""
    analyzer = Analyzer("french")
    assert analyzer.truncated_terms("visit visite visant Ministres") == ["visit", "visit", "visan", "minis"]
    hits = engine.search("What did they say about the visit?", 10)
    sentences = [s for h in hits for s in h.sentences]
    visiting = [s for s in sentences if "visite" in s.text.casefold()]
    aiming = [s for s in sentences if "visant" in s.text and "visit" not in s.text.casefold()]
    assert visiting and aiming
    assert all(s.coverage > 0 for s in visiting)
    assert all(s.coverage == 0 for s in aiming)
    # A French question keeps the articles' stems: "visites" is "visit", "visant" is not.
    french = [s for h in engine.search("Qu'ont-ils dit de la visite ?", 10) for s in h.sentences]
    assert any(s.coverage > 0 for s in french if "visite" in s.text.casefold())


def test_a_name_in_an_english_question_matches_by_more_letters_than_a_cognate(engine: Engine):
    """Five letters would match "Vladivostok" with "Vladimir": a name's words keep eight."""
    analyzer = Analyzer("french")
    assert analyzer.name_terms("Vladivostok Vladimir Kim") == ["vladivos", "vladimir", "kim"]
    sentences = [s for h in engine.search("Why did he go to Vladivostok?", 10) for s in h.sentences]
    naming = [s for s in sentences if "Vladivostok" in s.text]
    other = [s for s in sentences if "Vladimir" in s.text and "Vladivostok" not in s.text]
    assert naming and other
    assert all(s.coverage > 0 for s in naming)
    assert all(s.coverage == 0 for s in other)


def test_a_question_s_numbers_count_in_what_a_sentence_is_matched_on(engine: Engine):
    """ "Et en 2022 ?" has no content word but its year: the sentences that hold it match it, in
    either language ("And in 2022?" reads the French sentences by their cognates)."""
    for question in ("Et en 2022 ?", "And in 2022?"):
        sentences = [s for h in engine.search(question, 10) for s in h.sentences]
        holding = [s for s in sentences if "2022" in s.text]
        assert holding and all(s.coverage == 1.0 for s in holding), question
        assert all(s.coverage == 0.0 for s in sentences if "2022" not in s.text), question


def test_a_sentence_pointing_back_is_matched_with_the_words_of_the_one_before(engine: Engine):
    """« Ils ont assisté à une exposition militaire … » names who through the sentence before it (« …
    Sergueï Choïgou, a effectué un rare voyage à Pyongyang … »): a question naming him matches it by
    both sentences' words; a sentence naming its subject is matched by its own."""
    hits = engine.search("Qu'a vu Choïgou à l'exposition militaire ?", 5)
    sentences = [s for h in hits for s in h.sentences]
    seen = next(s for s in sentences if s.text.startswith("Ils ont assisté à une exposition militaire"))
    assert "Choïgou" in seen.context
    alone = engine.search("Qu'a vu Kim à l'exposition militaire ?", 5)  # a name the sentence before does not give
    seen_alone = next(
        s for h in alone for s in h.sentences if s.text.startswith("Ils ont assisté à une exposition militaire")
    )
    assert seen.coverage > seen_alone.coverage
    assert all(s.context == "" for s in sentences if s.text.startswith("Le mois dernier, le ministre russe"))
