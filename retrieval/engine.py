"""The facade front ends talk to: search, ask, index, sources, stats over the current snapshot.

It follows the data directory's ``CURRENT`` pointer, so when another process (or
this one) builds a new snapshot, the next question is served from it: no restart.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from .answers.authorship import who_wrote_subject
from .answers.extractive import NOTHING_YET, Answerer, ExtractiveAnswerer, abstention
from .answers.followup import (
    Conversations,
    FollowUp,
    answer_language,
    asks_for_more,
    names_nothing,
    renamed,
    resolve,
    standing_text,
    stands_alone,
    subject_words,
    swapped,
)
from .answers.kinds import question_kind
from .answers.late import LateInteraction
from .answers.measures import asked_measure
from .config import Settings, abstain_policy, chunk_settings, fetch_settings, llm_settings, search_settings
from .corpus.accents import AccentRestorer
from .corpus.analysis import Analyzer, detect_language
from .corpus.casing import is_lower_case, truecased
from .corpus.ingest import Added, AddReport, Library
from .corpus.samples import seed_articles_folder
from .encoders.embedding import DISABLED, make_embedder, make_multilingual, preload
from .encoders.exported import NOTICE_LOGGER
from .indexer import Progress, build_index, build_locked, open_current
from .lock import index_lock
from .search.hybrid import Searcher
from .stores import StoreBackend, StoreVersion, make_store
from .types import Answer, ArticleSummary, Encoders, Hit, IndexReport

if TYPE_CHECKING:
    import numpy as np

    from .corpus.ingest import Candidate
    from .errors import BadArticle

EncoderFactory = Callable[[Settings], Encoders]


def default_encoders(settings: Settings) -> Encoders:
    """The encoders the settings ask for (loaded lazily, on first use). With no multilingual model
    the embedding model takes its role: it reads passages, their sentences and every question."""
    embedding, multilingual = make_embedder(settings), make_multilingual(settings)
    if multilingual is None:
        return Encoders(embedding=None, multilingual=embedding)
    return Encoders(embedding=embedding, multilingual=multilingual)


@dataclass(frozen=True)
class Stats:
    version: str
    encoders: dict
    articles: int
    passages: int
    sentences: int
    created_at: str
    build_seconds: float
    disk_bytes: int
    chunking: dict
    index_types: dict


class Engine:
    def __init__(
        self,
        settings: Settings,
        *,
        encoders: EncoderFactory = default_encoders,
        answerer: Answerer | None = None,
    ) -> None:
        self.settings = settings
        self._encoder_factory = encoders
        self._encoders: Encoders | None = None
        self._answerer = answerer or self._default_answerer()
        self._searcher: Searcher | None = None
        self._lock = threading.Lock()
        self.conversations = Conversations(ttl=settings.followup_ttl_seconds)
        self._analyzer: Analyzer | None = None
        # A question typed without accents is read with them ("ete" as "été"): see corpus.accents.
        self.accents = AccentRestorer(settings.articles_language)
        #: the store RAGBOT_STORE names (a Milvus client connects on first use)
        self.store: StoreBackend = make_store(settings)

    def extractive_answerer(self) -> ExtractiveAnswerer:
        """The extractive answerer these settings describe (the default, and the LLM's fallback)."""
        s = self.settings
        return ExtractiveAnswerer(
            abstain_policy(s),
            max_sentences=s.answer_sentences,
            extra_share=s.answer_extra_share,
            corpus_language=s.articles_language,
            late=LateInteraction(lambda: self.encoders.multilingual, language=s.articles_language),
            rerank_passages=s.rerank_passages,
            rerank_weight=s.rerank_weight,
        )

    def _default_answerer(self) -> Answerer:
        s = self.settings
        extractive = self.extractive_answerer()
        llm = llm_settings(s)
        if llm is None:
            return extractive
        from .answers.llm import LLMAnswerer

        def encode(texts: Sequence[str]) -> np.ndarray:
            return self.encoders.multilingual.encode(texts)  # type: ignore[union-attr]

        # The multilingual role's encoder checks grounding: the multilingual model, else the embedding model.
        has_encoder = any(m.strip().lower() not in DISABLED for m in (s.multilingual_model, s.embedding_model))
        return LLMAnswerer(llm, extractive, encode=encode if has_encoder else None)

    @property
    def analyzer(self) -> Analyzer:
        if self._analyzer is None:
            self._analyzer = Analyzer(self.settings.articles_language)
        return self._analyzer

    @property
    def encoders(self) -> Encoders:
        with self._lock:
            if self._encoders is None:
                self._encoders = self._encoder_factory(self.settings)
            return self._encoders

    def snapshot(self) -> StoreVersion:
        """The current version of the store, reopened when the pointer has moved since last time."""
        return self.searcher().snapshot

    def open_for_questions(self) -> StoreVersion:
        """:meth:`snapshot`, opened for questions to come: the encoders start loading meanwhile, so
        that a front end failing fast on a missing index does not make the first question wait."""
        return self.searcher(answering=True).snapshot

    def searcher(self, *, answering: bool = False) -> Searcher:
        """The searcher of the current version. ``answering``: for a question, whose encoders then
        load while the version opens (a cold `ragbot ask` waits for the longer, not for both)."""
        version = self.store.current_version()
        searcher = self._searcher
        if searcher is not None and searcher.snapshot.version == version:
            return searcher
        encoders = self.encoders
        if answering and version is not None:
            preload(encoders.multilingual)
            preload(encoders.embedding)
        with self._lock:
            if self._searcher is None or self._searcher.snapshot.version != version:
                # The old snapshot is not closed: a query running on it in another thread
                # finishes on the version it started with; the GC closes it afterwards.
                self._searcher = Searcher(self.store.open_current(), encoders, search_settings(self.settings))
            return self._searcher

    def search(self, question: str, k: int | None = None, *, focus: str | None = None) -> list[Hit]:
        read = self.accents.restore
        return self.searcher(answering=True).search(
            read(question), k or self.settings.top_k, focus=read(focus) if focus else None
        )

    def ask(self, question: str, k: int | None = None, *, chat: Hashable | None = None) -> Answer:
        """Answer ``question``; with a ``chat`` key, a follow-up is read with that chat's previous question."""
        k = k or self.settings.top_k
        typed_question, question = question, self._read(question)
        more = asks_for_more(question)  # "Tell me more": the language it asks in
        previous = self.conversations.previous(chat) if chat is not None else None
        if more and previous is not None:
            return replace(self._more(previous, k, chat, more), question=typed_question)
        if more:  # nothing was asked before (a fresh chat, after :new, a single question)
            return Answer(typed_question, NOTHING_YET[more], (), abstained=True, language=more)
        if previous is None and names_nothing(question, self.analyzer):
            # "Where?" with nothing asked before: about what, nothing tells (it was searched, and "¿Dónde?"
            # quoted whatever came first)
            return abstention(typed_question, detect_language(question))
        # "Qui a écrit l'article sur le pacte ?" is answered from the bylines of the articles about the pact.
        subject = who_wrote_subject(question)
        if chat is None:
            searched = subject or question
            hits = self.search(searched, self._answerer.depth(searched, k))
            return replace(self._answerer.answer(question, hits), question=typed_question)
        # "And about the West?" after "What did Putin say about North Korea?" is that question, about
        # the West: asked whole, as a question of its own; so is "And Kim?" after a question naming one
        # person ("What did Putin say about the treaty?"), and a who-wrote question naming its subject.
        whole = (
            question
            if subject
            else swapped(question, previous, self.analyzer) or renamed(question, previous, self.analyzer)
        )
        searched = subject or whole or resolve(question, previous, self.analyzer)
        asked = whole or searched  # what the answer reads
        # Any other follow-up is searched with the previous question and answered in the language of
        # the one asked, with the kind of answer it asks for and something the previous answer did not quote.
        previous_language = self.conversations.language(chat)
        language = answer_language(question, previous_language)
        follow_up = None
        if whole is None and searched != question:
            elliptical = not subject_words(question, self.analyzer)
            follow_up = FollowUp(
                question,
                self.conversations.quoted(chat),
                elliptical=elliptical,
                previous_kind=question_kind(previous or ""),
                previous_measure=asked_measure(previous or ""),
                previous_language=previous_language,
                # A complete question after "and" is answered with the chat's context, if the articles
                # answer it as asked ("And who won the World Cup?" is no question about the treaty).
                alone=(lambda: self.search(standing_text(question), k))
                if stands_alone(question, self.analyzer)
                else None,
            )
        depth = self._answerer.depth(asked, k, follow_up=follow_up)
        # The sentence that answers holds what was typed: a follow-up's own words, or the subject a
        # swapped or renamed one puts in the previous question ("Et sur les sanctions ?").
        typed = follow_up is not None or whole not in (None, question)
        hits = self.search(searched, depth, focus=question if typed else None)
        answer = self._answerer.answer(asked, hits, language=language, follow_up=follow_up)
        self.conversations.remember(chat, asked, answer.language, _told(answer))
        return replace(answer, question=typed_question)

    def _more(self, previous: str, k: int, chat: Hashable, language: str) -> Answer:
        """ "Tell me more", « Dis-m'en plus »: the chat's ``previous`` question again, answered with what
        its answers did not quote yet (each request for more adds to what was quoted), in ``language``,
        the one it was asked in; "That is all I found" when the passages read hold nothing more."""
        told = self.conversations.quoted(chat)
        previous_language = self.conversations.language(chat)
        follow_up = FollowUp(
            previous,
            told,
            elliptical=True,
            previous_kind=question_kind(previous),
            previous_measure=asked_measure(previous),
            previous_language=previous_language,
            more=True,
        )
        hits = self.search(previous, self._answerer.depth(previous, k, follow_up=follow_up))
        answer = self._answerer.answer(previous, hits, language=language, follow_up=follow_up)
        self.conversations.remember(chat, previous, answer.language, told | _told(answer))
        return answer

    def _read(self, question: str) -> str:
        """``question`` as an answer reads it: with the accents its language spells it with (see
        corpus.accents); typed all in lower case or without accents, with the capitals and accents
        its words have in the passages it finds (see corpus.casing)."""
        bare = self.accents.bare(question)
        question = self.accents.restore(question)
        if not (bare or is_lower_case(question)):
            return question
        hits = self.searcher(answering=True).search(question, self.settings.top_k)
        texts = (h.passage.text for h in hits)
        return truecased(question, texts, ignore=self.analyzer.stop_words(), accents=bare)

    def forget(self, chat: Hashable) -> None:
        """Start over: the chat's next question is not read as a follow-up."""
        self.conversations.forget(chat)

    def answer_hits(self, question: str, hits: list[Hit], *, language: str | None = None) -> Answer:
        """The answer from ``hits``, in ``language`` (by default the question's)."""
        answer = self._answerer.answer(self.accents.restore(question), hits, language=language)
        return replace(answer, question=question)

    def index(self, *, progress: Progress | None = None, rebuild: bool = False) -> IndexReport:
        """Re-index the articles folder (incrementally unless ``rebuild``); served from the next question on."""
        self.ensure_articles_folder()
        return build_index(self.settings, self.encoders, progress=progress, rebuild=rebuild, store=self.store)

    def add(self, sources: list[str], *, progress: Progress | None = None) -> tuple[AddReport, IndexReport | None]:
        """Add article files or URLs to the articles folder, then re-index.

        Reading, downloading and checking happen first, without the index lock: a slow
        server never keeps ``index`` or ``/reindex`` waiting. The lock covers writing the
        files and the re-index, which removes nothing (``index`` applies deletions made by hand).
        """
        return self.add_prepared(self.library().prepare(sources), progress=progress)

    def add_prepared(
        self, prepared: list[Candidate | BadArticle], *, progress: Progress | None = None
    ) -> tuple[AddReport, IndexReport | None]:
        """Write inputs :meth:`Library.prepare` read and checked (downloaded while nothing was locked,
        e.g. by a bot that then waits its turn to write), then re-index; as :meth:`add`."""
        self.ensure_articles_folder()
        library = self.library()
        with index_lock(self.settings.data_dir, self.store):
            # Opened once: its manifest spares the duplicate check parsing every article, then
            # the build starts from it.
            current = open_current(self.store)
            report = library.commit(prepared, known=current.manifest.articles if current else None)
            index = (
                build_locked(
                    self.settings,
                    self.encoders,
                    progress=progress,
                    store=self.store,
                    current=current,
                    removing=(),
                    files=[library.folder / a.file for a in report.added],  # only these are read
                )
                if report.added
                else None
            )
        return report, index

    def add_upload(self, name: str, raw: bytes) -> tuple[Added, IndexReport]:
        """Add one uploaded file (e.g. a Telegram document), then re-index."""
        self.ensure_articles_folder()
        library = self.library()
        candidate = library.prepare_bytes(name, raw)  # parsed and checked before taking the lock
        with index_lock(self.settings.data_dir, self.store):
            current = open_current(self.store)
            added = library.commit_one(candidate, known=current.manifest.articles if current else None)
            return added, build_locked(
                self.settings,
                self.encoders,
                store=self.store,
                current=current,
                removing=(),
                files=[library.folder / added.file],
            )

    def remove(self, article_id: str) -> IndexReport:
        """Delete an article's file, then re-index: it is gone from answers at once (and only it:
        an indexed article whose file is not in this machine's folder stays)."""
        with index_lock(self.settings.data_dir, self.store):
            current = open_current(self.store)
            self.library().remove(article_id, known=current.manifest.articles if current else None)
            return build_locked(
                self.settings, self.encoders, store=self.store, current=current, removing=(article_id,), files=()
            )

    def ensure_articles_folder(self) -> None:
        """The default articles folder starts as a copy of the sample articles (see corpus/samples.py);
        ``index`` and ``add`` call it, a front end may call it first (to say so before a progress bar)."""
        if self.settings.articles_by_default:
            seed_articles_folder(self.settings.articles_dir, logging.getLogger(NOTICE_LOGGER))

    def library(self) -> Library:
        s = self.settings
        return Library(
            s.articles_dir, max_bytes=s.max_article_bytes, fetching=fetch_settings(s), chunking=chunk_settings(s)
        )

    def sources(self) -> list[ArticleSummary]:
        return self.snapshot().articles()

    def stats(self) -> Stats:
        snap = self.snapshot()
        m = snap.manifest
        return Stats(
            version=snap.version,
            encoders=m.encoders,
            articles=m.counts["articles"],
            passages=m.counts["passages"],
            sentences=m.counts.get("sentences", 0),
            created_at=m.created_at,
            build_seconds=m.build_seconds,
            disk_bytes=snap.disk_bytes(),
            chunking=m.chunking,
            index_types=m.index_types,
        )


def _told(answer: Answer) -> frozenset[tuple[str, int]]:
    """(article id, start) of every sentence ``answer`` quotes: what a chat was told."""
    return frozenset((q.article_id, start) for q in answer.quotes for start in q.starts or (q.char_start,))
