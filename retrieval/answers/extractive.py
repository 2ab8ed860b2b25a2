"""Turn search hits into a short :class:`Answer` whose every statement cites its passage.

The default answerer is extractive and offline: it quotes the sentence of the top passages
that answers the question (and another when it adds a fact), verbatim, each followed by
``[n]``, and says honestly when the articles do not hold the answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ..corpus.analysis import detect_language, fold_accents, language_code, names_in, tidy, words, written_language
from ..corpus.reference import unclear_alone
from ..options import AbstainPolicy
from ..types import Answer, Hit, Quote, ScoredSentence
from .authorship import article_subject, asks_who_wrote, credit_line, credited_hits
from .citing import citation
from .followup import FollowUp, standing_text
from .kinds import (
    asks_ahead,
    joined_question,
    question_kind,
    reports_others_on,
    sentence_cues,
    speculates,
    speculation,
    states,
)
from .late import LateInteraction, quotable_text, reranked
from .lead import Candidate, LeadScorer, candidates
from .measures import asked_measure, states_measure
from .safety import is_instruction_like


class Answerer(Protocol):
    def answer(
        self, question: str, hits: Sequence[Hit], *, language: str | None = None, follow_up: FollowUp | None = None
    ) -> Answer:
        """``language`` ("en", "fr") to answer in, None: the question's own. ``follow_up``: ``question``
        is a follow-up read with the one before it; what was typed, and what was quoted last."""
        ...

    def depth(self, question: str, k: int, *, follow_up: FollowUp | None = None) -> int:
        """How many passages to search for ``question`` (as in :meth:`answer`) when a reply quotes
        from the first ``k``: more when the answerer re-reads more than ``k`` before choosing."""
        ...


# A refusal, in the language of the question (see corpus.analysis.written_language).
NOT_FOUND = {
    "en": "I could not find this in the articles.",
    "fr": "Je n’ai pas trouvé cela dans les articles.",
    "es": "No he encontrado esto en los artículos.",
    "de": "Das habe ich in den Artikeln nicht gefunden.",
    "it": "Non ho trovato questo negli articoli.",
    "pt": "Não encontrei isto nos artigos.",
}
# A request for more when the passages read hold nothing that was not quoted already.
NOTHING_MORE = {
    "en": "That is all I found on this in the articles.",
    "fr": "C’est tout ce que j’ai trouvé à ce sujet dans les articles.",
    "es": "Es todo lo que he encontrado sobre esto en los artículos.",
    "de": "Mehr habe ich dazu in den Artikeln nicht gefunden.",
    "it": "È tutto ciò che ho trovato su questo negli articoli.",
    "pt": "É tudo o que encontrei sobre isto nos artigos.",
}
# A request for more with no question before it.
NOTHING_YET = {
    "en": "Ask me a question first: there is nothing to tell more of yet.",
    "fr": "Posez-moi d’abord une question : il n’y a encore rien à compléter.",
}


# Kinds of answer a sentence tells by a precise phrase, not by any name or number it holds, and what a
# sentence without one weighs less when another has it (logit).
PRECISE_KINDS = frozenset({"means"})
PRECISE_MISS = 3.0
PRECISE_DEPTH = 10  # passages searched for such a question: a sentence that tells it is read wherever it is


def abstention(question: str, language: str) -> Answer:
    return Answer(question=question, text=NOT_FOUND[language], citations=(), abstained=True, language=language)


def nothing_more(question: str, language: str) -> Answer:
    """A request for more when every sentence the passages read hold was told already."""
    return Answer(question=question, text=NOTHING_MORE[language], citations=(), abstained=True, language=language)


class ExtractiveAnswerer:
    """Quote the sentence that answers, verbatim, with its citation; another only when it adds a fact.

    Every sentence of the best passages is a candidate. :class:`~.lead.LeadScorer` weighs what
    the search measured of it (cosine, words of the question it holds, its passage's score)
    and what it holds (the kind of answer the question asks for, or only speculation). The
    most likely one leads. Another follows only when it comes from another passage, is at least
    ``extra_share`` as likely, says something the first does not, and is not speculation beside a
    stated fact: a second piece of evidence, where the answer may lie when the lead's passage
    misses it. A question about who wrote or published an article is answered from the article's
    byline and source.
    """

    def __init__(
        self,
        policy: AbstainPolicy | None = None,
        *,
        scorer: LeadScorer | None = None,
        max_sentences: int = 2,
        from_hits: int = 3,
        extra_share: float = 0.2,
        speculation_penalty: float = 1.0,
        repeat_penalty: float = 1.0,
        join_share: float = 0.5,
        hearsay_penalty: float = 1.0,
        corpus_language: str = "french",
        late: LateInteraction | None = None,
        rerank_passages: int = 0,
        rerank_weight: float = 2.0,
    ) -> None:
        self.policy = policy or AbstainPolicy()
        self.scorer = scorer or LeadScorer.bundled()
        self.max_sentences = max_sentences
        self.from_hits = from_hits
        self.extra_share = extra_share
        self.speculation_penalty = speculation_penalty
        self.repeat_penalty = repeat_penalty
        self.join_share = join_share
        self.hearsay_penalty = hearsay_penalty
        self.late = late  # token-level matching of question and sentences, when the encoder offers it
        # A question across languages: its first passages re-ranked by late interaction before answering.
        self.rerank_passages = rerank_passages
        self.rerank_weight = rerank_weight
        self.corpus_language = language_code(corpus_language)

    def answer(
        self, question: str, hits: Sequence[Hit], *, language: str | None = None, follow_up: FollowUp | None = None
    ) -> Answer:
        """``language`` is the one to answer in (a follow-up's own); by default the question's.
        Whether the question crosses languages is read from the question itself."""
        asked = follow_up.asked if follow_up else question
        asked_in = detect_language(asked)
        language = language or asked_in
        cross = self.cross_lingual(asked_in)
        if asks_who_wrote(asked):
            if follow_up is not None and follow_up.more:
                return nothing_more(question, language)  # the bylines were all told
            # Answered from the bylines of the articles found, if they are about what it names (a
            # fragment, "Putin's talks in Pyongyang", judged in the question's language).
            subject = article_subject(asked)
            judged = subject is not None and self.policy.abstains(
                hits, cross_lingual=cross, token_match=self._token_match(subject, hits, cross)
            )
            if not hits or judged:
                return abstention(question, language)
            return credit(question, credited_hits(hits, self.from_hits), language)
        trusted = follow_up is not None and follow_up.about_an_answered_subject and bool(hits)
        matches = self._passage_matches(asked, hits, cross)
        token_match = max(matches[: self.policy.token_passages]) if matches else None
        if follow_up is not None and not trusted and token_match is not None:
            # A follow-up's own words may name no subject ("When was it completed?"): it is answerable
            # when the articles hold it as asked or read with the previous question, as it was searched
            # (a combined reading matches less when each question has passages of its own).
            token_match = max(token_match, self._token_match(question, hits, cross) or 0.0)
        if (
            not trusted
            and self.policy.abstains(hits, cross_lingual=cross, token_match=token_match)
            and not (follow_up is not None and self._holds_as_searched(question, hits, follow_up, cross))
            and not (written_language(asked) is None and not self._abstains_read(asked, hits, not cross))
        ):
            return abstention(question, language)
        if (
            follow_up is not None
            and follow_up.alone is not None
            and self.abstains(standing_text(asked), follow_up.alone())
        ):
            return abstention(question, language)
        if self._rereads(cross, follow_up):
            hits = self._reranked(asked, hits, matches)
        if not self._states(follow_up.measure if follow_up else asked_measure(asked), hits):
            return abstention(question, language)
        kind = follow_up.kind if follow_up else question_kind(asked)
        ranked = self.rank(hits, asked, follow_up, kind=kind)
        if not ranked and follow_up is not None and follow_up.more:
            return nothing_more(question, language)
        if not ranked:
            return abstention(question, language)
        chosen = self._choose(ranked, kind)
        also = joined_question(asked).kind
        if also is not None and not any(also in c.cues.kinds for c in chosen):
            # "Who signed the treaty and when?": the sentence that best tells when joins the lead.
            chosen = self._also(chosen, self.rank(hits, asked, follow_up, kind=also), also)
        numbers: dict[int, int] = {}
        for c in chosen:
            numbers.setdefault(c.hit.rank, len(numbers) + 1)
        read = self._read_whole(chosen, ranked, follow_up.previous if follow_up else frozenset())
        quotes = tuple(
            Quote(
                numbers[c.hit.rank],
                c.hit.article.id,
                " ".join(s.text for s in sentences),
                sentences[0].char_start,
                sentences[-1].char_end,
                tuple(s.char_start for s in sentences),
            )
            for c, sentences in zip(chosen, read, strict=True)
        )
        text = "\n".join(f"{q.text} [{q.n}]" for q in quotes)
        by_rank = {h.rank: h for h in hits}
        citations = tuple(citation(n, by_rank[rank]) for rank, n in numbers.items())
        return Answer(question, text, citations, abstained=False, language=language, quotes=quotes)

    def _read_whole(
        self,
        chosen: Sequence[Candidate],
        ranked: Sequence[tuple[Candidate, float]],
        quoted: frozenset[tuple[str, int]],
    ) -> list[tuple[ScoredSentence, ...]]:
        """The sentences each chosen one is quoted with, in order: the one before it, when a pronoun of
        it stands for someone or somewhere named there (« Ils soupçonnent la Corée du Nord … » after « …
        suscite l'inquiétude de l'Occident. ») and the chat was not just told it; for the lead, the one after it,
        when that one goes on from it and is about as likely to answer (« On y voit d'immenses
        banderoles » after « … des images de la capitale Pyongyang »)."""
        told = set(quoted) | {(c.hit.article.id, c.sentence.char_start) for c in chosen}
        out: list[tuple[ScoredSentence, ...]] = []
        for i, c in enumerate(chosen):
            sentences: tuple[ScoredSentence, ...] = (c.sentence,)
            before = _before(c)
            if (
                before is not None
                and unclear_alone(c.sentence.text)
                and (c.hit.article.id, before.char_start) not in told
            ):
                sentences = (before, *sentences)
            if i == 0:
                p_lead = ranked[0][1]
                after = next(
                    (
                        d
                        for d, p in ranked[1:]
                        if p >= self.join_share * p_lead
                        and d.hit.rank == c.hit.rank
                        and (went_on := _before(d)) is not None
                        and went_on.char_start == c.sentence.char_start
                        and _adds(d, [c])
                    ),
                    None,
                )
                if after is not None and (c.hit.article.id, after.sentence.char_start) not in told:
                    sentences = (*sentences, after.sentence)
            out.append(sentences)
        return out

    def _holds_as_searched(self, searched: str, hits: Sequence[Hit], follow_up: FollowUp, cross: bool) -> bool:
        """Whether a follow-up searched with a question in the other language ("Et en échange ?" after
        an English question) passes when judged as that question is: the hits' cosines are mostly
        on the scale of the text searched, the previous question's."""
        if follow_up.previous_language is None or self.cross_lingual(follow_up.previous_language) == cross:
            return False
        other = not cross
        return not self.policy.abstains(hits, cross_lingual=other, token_match=self._token_match(searched, hits, other))

    def _states(self, measure: str | None, hits: Sequence[Hit]) -> bool:
        """Whether the passages quoted from (their quotable sentences) state the ``measure`` a question
        asks for (see :mod:`.measures`), if any: "How old is Kim Jong-un?" is not answered from
        passages that give nobody's age."""
        return measure is None or any(states_measure(quotable_text(h), measure) for h in hits[: self.from_hits])

    def judgement(self, question: str, hits: Sequence[Hit]) -> tuple[bool, float | None]:
        """Whether ``question`` crosses languages, and the score the abstention judges it on."""
        cross = self.cross_lingual(detect_language(question))
        return cross, self.policy.score(hits, cross_lingual=cross, token_match=self._token_match(question, hits, cross))

    def abstains(self, question: str, hits: Sequence[Hit]) -> bool:
        """Whether the articles do not hold what ``question`` (as asked) asks. Written in neither
        language ("South Korea", "Vostochny"), it is answered when either language's reading of it
        passes."""
        language = written_language(question)
        readings = (self.cross_lingual(language),) if language else (False, True)
        return all(self._abstains_read(question, hits, cross) for cross in readings)

    def _abstains_read(self, question: str, hits: Sequence[Hit], cross: bool) -> bool:
        """Whether the articles do not hold ``question`` read as a question across languages or not."""
        return self.policy.abstains(hits, cross_lingual=cross, token_match=self._token_match(question, hits, cross))

    def _token_match(self, question: str, hits: Sequence[Hit], cross: bool) -> float | None:
        if hits and self.late is not None and self.policy.judges_tokens(cross_lingual=cross):
            # "Who signed the treaty and when?" holds nothing "Who signed the treaty?" does not.
            return self.late.best_passage(joined_question(question).question, hits[: self.policy.token_passages])
        return None

    def reranked_hits(self, question: str, hits: Sequence[Hit]) -> list[Hit]:
        """``hits`` in the order an answer to ``question`` reads them: re-ranked by late interaction
        when the question crosses languages (``rerank_passages``), else as found."""
        if not self._reranks(self.cross_lingual(detect_language(question))):
            return list(hits)
        return self._reranked(question, hits)

    def _reranked(self, question: str, hits: Sequence[Hit], matches: Sequence[float] | None = None) -> list[Hit]:
        if self.late is None or len(hits) < 2:
            return list(hits)
        if matches is None:
            matches = self.late.passages(question, hits[: self.rerank_passages])
        return reranked(hits, matches or [], self.rerank_weight)

    def _reranks(self, cross: bool) -> bool:
        return cross and self.rerank_passages > 1 and self.late is not None

    def _rereads(self, cross: bool, follow_up: FollowUp | None) -> bool:
        """Whether an answer re-ranks its passages: a question across languages. Found with the
        previous question, a follow-up's passages are re-read for what it asks itself ("and when
        was it signed?"); not an elliptical one ("and when?"), which has no word to read them by."""
        return self._reranks(cross) and not (follow_up and follow_up.elliptical and not follow_up.more)

    def depth(self, question: str, k: int, *, follow_up: FollowUp | None = None) -> int:
        """``k``, or the re-ranking's ``rerank_passages`` when the answer re-reads them: a passage
        found sixth may be the one a question across languages is answered from; or
        :data:`PRECISE_DEPTH` for a question asking a kind of answer a precise phrase tells."""
        asked = follow_up.asked if follow_up else question
        if self._rereads(self.cross_lingual(detect_language(asked)), follow_up):
            return max(k, self.rerank_passages)
        if question_kind(asked) in PRECISE_KINDS:
            return max(k, PRECISE_DEPTH)  # the one passage that tells how may come eighth
        return k

    def _passage_matches(self, question: str, hits: Sequence[Hit], cross: bool) -> list[float] | None:
        """MaxSim of ``question`` with the first hits' passages: as many as the token match (the
        abstention of a question across languages) and the re-ranking read; None without either."""
        n = max(
            self.policy.token_passages if self.policy.judges_tokens(cross_lingual=cross) else 0,
            self.rerank_passages if self._reranks(cross) else 0,
        )
        if not hits or self.late is None or n == 0:
            return None
        return self.late.passages(joined_question(question).question, hits[:n])

    def cross_lingual(self, question_language: str) -> bool:
        """Whether a question in ``question_language`` is asked across languages of these articles."""
        return question_language != self.corpus_language

    def rank(
        self, hits: Sequence[Hit], question: str, follow_up: FollowUp | None = None, *, kind: str | None = None
    ) -> list[tuple[Candidate, float]]:
        """Every candidate sentence of the best hits with its probability of answering ``question``
        (as asked), most likely first; ``kind``: the kind of answer it asks for, by default
        ``question``'s own.

        Speculation ("pourraient signer") weighs less than a stated fact. Where a passage found states
        what a candidate only says could happen ("signé ce jour"), that statement takes the
        speculation's place. A follow-up is answered with something new where it can: a sentence
        quoted last time weighs less."""
        pool = list(hits[: self.from_hits])
        if follow_up is not None and follow_up.elliptical:
            # "Quand ?" asks about what was just answered: the passage quoted is read again if found
            pool += [h for h in hits[self.from_hits :] if _quoted_in(h, follow_up.previous)]
        usable = [_usable(h) for h in pool]
        statements = self._statements(hits, pool, usable)
        for hit, stated in statements.values():
            pool.append(hit)
            usable.append(stated)
        kind = kind or question_kind(question)
        if kind in PRECISE_KINDS and not any(_holds(kind, question, ss) for ss in usable):
            # "How did Kim travel to Russia?": no sentence of the first passages tells how; one found
            # further down that does ("à bord de son train blindé") is read too
            for hit in hits[len(pool) :]:
                if _holds(kind, question, _usable(hit)):
                    pool.append(hit)
                    usable.append(_usable(hit))
        cands = candidates(pool, question, kind, usable, self.late)
        # Only a follow-up with no word of its own ("and when?") asks for something new; "What will it
        # replace?" may be answered by the sentence just quoted.
        previous = follow_up.previous if follow_up and follow_up.elliptical else frozenset()
        if follow_up is not None and follow_up.more:  # "Tell me more": nothing the chat was told already
            cands = [c for c in cands if not _repeats(c, previous)]
        # "Et où va-t-il ensuite ?": what should happen is the answer, no weaker than a stated fact.
        speculation_penalty = 0.0 if asks_ahead(question) else self.speculation_penalty
        # "What did Shoigu say?": not what others said of him
        asked_of = names_in(question)[:1] if kind == "words" else []  # the first name: who speaks
        # a kind told by a precise phrase ("à bord de son train blindé" for "How did Kim travel?"): a
        # sentence without it does not lead where one with it is found
        telling = kind in PRECISE_KINDS and any(kind in c.cues.kinds for c in cands)
        penalties = [
            PRECISE_MISS * (telling and kind not in c.cues.kinds)
            + speculation_penalty * c.cues.speculative
            + self.hearsay_penalty * reports_others_on(c.sentence.text, asked_of)
            + self.repeat_penalty * (_repeats(c, previous) and not (kind and kind in c.cues.kinds))
            for c in cands
        ]
        probs = self.scorer.probabilities(cands, penalties)
        _stated_for_speculated(cands, probs, question)
        return sorted(zip(cands, probs, strict=True), key=lambda cp: -cp[1])

    def _statements(
        self, hits: Sequence[Hit], pool: Sequence[Hit], usable: Sequence[Sequence[ScoredSentence]]
    ) -> dict[int, tuple[Hit, list[ScoredSentence]]]:
        """The sentences of the hits after ``pool`` that state what a sentence of the pool only says
        could happen, by hit rank."""
        said = [x for ss in usable for s in ss if (x := speculation(s.text)) is not None]
        found: dict[int, tuple[Hit, list[ScoredSentence]]] = {}
        if not said:
            return found
        for hit in hits[len(pool) :]:
            for sentence in _usable(hit):
                text = sentence.text
                if not speculates(text) and any(states(text, x) for x in said):
                    found.setdefault(hit.rank, (hit, []))[1].append(sentence)
        return found

    def _also(self, chosen: list[Candidate], ranked: list[tuple[Candidate, float]], kind: str) -> list[Candidate]:
        """``chosen`` with the likeliest sentence of ``ranked`` holding the ``kind`` of answer a
        question joined to the first asks for ("and when?") in the last place; as it is without one,
        or with room for one sentence only (the lead stays)."""
        if self.max_sentences < 2:
            return chosen
        for cand, _ in ranked:
            if kind in cand.cues.kinds and _adds(cand, chosen):
                return [*chosen[: self.max_sentences - 1], cand]
        return chosen

    def _choose(self, ranked: list[tuple[Candidate, float]], kind: str | None) -> list[Candidate]:
        lead, p_lead = ranked[0]
        chosen = [lead]
        # When sentences share words with the question, one that shares none is no evidence, only padding.
        matching = any(c.sentence.coverage > 0 for c, _ in ranked)
        for cand, p in ranked[1:]:
            if len(chosen) == self.max_sentences or p < self.extra_share * p_lead:
                break
            if matching and cand.sentence.coverage == 0:
                continue
            if any(cand.hit.rank == c.hit.rank for c in chosen):
                continue  # a passage is quoted once: its other sentences are one tap away, in its source
            if kind is not None and kind not in cand.cues.kinds:
                continue  # "when?" is answered with dates only
            if _adds(cand, chosen):
                chosen.append(cand)
        return chosen


def _holds(kind: str, question: str, sentences: Sequence[ScoredSentence]) -> bool:
    """Whether one of ``sentences`` holds the ``kind`` of answer ``question`` asks for."""
    return any(kind in sentence_cues(s.text, question).kinds for s in sentences)


def _adds(cand: Candidate, chosen: Sequence[Candidate]) -> bool:
    """Whether ``cand`` may follow the sentences ``chosen`` (the lead first): a statement (a heading
    may answer, never pad), no speculation beside a stated fact ("could sign" beside "signed"), and no
    near-duplicate of one of them."""
    return (
        _is_statement(cand.sentence.text)
        and not (cand.cues.speculative and not chosen[0].cues.speculative)
        and not any(_near_duplicate(cand.sentence.text, c.sentence.text) for c in chosen)
    )


def _usable(hit: Hit) -> list[ScoredSentence]:
    """A hit's sentences an answer may quote."""
    return [
        s for s in (hit.sentences or (_whole_passage(hit),)) if len(s.text) >= 8 and not is_instruction_like(s.text)
    ]


def _stated_for_speculated(cands: Sequence[Candidate], probs: list[float], question: str) -> None:
    """Where a candidate states what a likelier one only says could happen, the two trade places;
    not when it leaves out someone the question names and the speculation holds ("Qui est Yury
    Ushakov ?" is answered by what he said would happen, not by what did)."""
    named = {fold_accents(w) for name in names_in(question) for w in words(name)}
    for i in sorted(range(len(cands)), key=lambda j: -probs[j]):
        said = speculation(cands[i].sentence.text) if cands[i].cues.speculative else None
        if said is None:
            continue
        held = named & _folded_words(cands[i].sentence.text)
        stating = [
            j
            for j, c in enumerate(cands)
            if not c.cues.speculative and states(c.sentence.text, said) and held <= _folded_words(c.sentence.text)
        ]
        if stating:
            j = max(stating, key=lambda j: probs[j])
            if probs[j] < probs[i]:
                probs[i], probs[j] = probs[j], probs[i]


def _folded_words(text: str) -> set[str]:
    return {fold_accents(w) for w in words(text)}


def _quoted_in(hit: Hit, quoted: frozenset[tuple[str, int]]) -> bool:
    """Whether a sentence ``quoted`` (article id, start) lies in ``hit``'s passage."""
    p = hit.passage
    return any(a == hit.article.id and p.char_start <= start < p.char_end for a, start in quoted)


def _before(candidate: Candidate) -> ScoredSentence | None:
    """The sentence just before ``candidate``'s, which it points back to (see ScoredSentence.context),
    when nothing but space lies between them in the article; else None."""
    context = candidate.sentence.context
    if not context:
        return None
    passage = candidate.hit.passage
    for s in candidate.hit.sentences:
        if s.text == context and s.char_end <= candidate.sentence.char_start:
            between = passage.text[s.char_end - passage.char_start : candidate.sentence.char_start - passage.char_start]
            return s if not between.strip() else None
    return None


def _repeats(candidate: Candidate, previous: frozenset[tuple[str, int]]) -> bool:
    return (candidate.hit.article.id, candidate.sentence.char_start) in previous


def credit(question: str, hits: Sequence[Hit], language: str) -> Answer:
    """Who wrote or published each hit's article, from its byline and source, each cited."""
    lines = [f"{credit_line(h.article, language)} [{n}]" for n, h in enumerate(hits, start=1)]
    citations = tuple(citation(n, h) for n, h in enumerate(hits, start=1))
    return Answer(question=question, text="\n".join(lines), citations=citations, abstained=False, language=language)


def _whole_passage(hit: Hit) -> ScoredSentence:
    """Without sentence scores (no multilingual encoder) the passage itself is the quote."""
    p = hit.passage
    return ScoredSentence(
        p.char_start,
        p.char_end,
        tidy(p.text),
        similarity=hit.score,
        coverage=hit.coverage,
        rare_coverage=hit.rare_coverage,
    )


def _is_statement(text: str) -> bool:
    return text.rstrip().endswith((".", "!", "?", "…", "»", '"', "”"))


def _near_duplicate(a: str, b: str, threshold: float = 0.6) -> bool:
    wa, wb = set(words(a)), set(words(b))
    return bool(wa and wb) and len(wa & wb) / len(wa | wb) >= threshold
