"""Telegram front end: a python-telegram-bot ``Application`` over the same engine as the CLI.

This module holds the handlers and their wiring (:func:`build_application`); capped downloads
(``telegram_downloads``), sending within Telegram's limits (``telegram_sending``) and start-up
with backoff (``telegram_startup``) each have their own module. Every handler is a small
coroutine; search, model inference and indexing run in worker threads so one slow question
never stalls the other chats.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from retrieval.config import Settings
from retrieval.corpus.analysis import written_language
from retrieval.corpus.articles import SUPPORTED_SUFFIXES
from retrieval.corpus.ingest import Added, UnknownArticle
from retrieval.engine import Engine
from retrieval.errors import BadArticle, IndexCorrupt, IndexNotBuilt, ModelMismatch, RagbotError, StoreUnavailable
from retrieval.lock import IndexBusy
from retrieval.redaction import redact
from retrieval.types import Answer, IndexReport

from . import render
from .ratelimit import Decision, RateLimiter
from .telegram_downloads import DownloadFailed, TooLarge, download_capped
from .telegram_sending import reply, send
from .telegram_startup import BotConfigError, check_token_shape, describe_error, json_request
from .texts import Messages, courtesy, links_in, messages_for

if TYPE_CHECKING:
    from telegram import Message, Update
    from telegram.ext import Application, ContextTypes

log = logging.getLogger(__name__)

SOURCES_PREFIX = "src:"


class AnswerStore:
    """Recent answers, so a "Sources" button can expand them later (bounded, newest kept).

    A key opens its answer only in the chat it was made for: a button's data can be copied
    into a forged press from another chat.
    """

    def __init__(self, capacity: int = 2000) -> None:
        self._items: OrderedDict[str, tuple[int, Answer]] = OrderedDict()
        self._capacity = capacity
        self._latest: dict[int, str] = {}  # chat -> key of the answer it was given last

    def put(self, answer: Answer, chat_id: int) -> str:
        key = secrets.token_urlsafe(9)
        self._items[key] = (chat_id, answer)
        self._latest[chat_id] = key
        while len(self._items) > self._capacity:
            old, (chat, _) = self._items.popitem(last=False)
            if self._latest.get(chat) == old:
                del self._latest[chat]
        return key

    def latest(self, chat_id: int) -> Answer | None:
        """The answer the chat was given last, if it quoted something (see :meth:`forget_latest`)."""
        key = self._latest.get(chat_id)
        return self._items[key][1] if key is not None else None

    def forget_latest(self, chat_id: int) -> None:
        """The chat's last reply quoted nothing (a refusal), or it started over: no answer is its last."""
        self._latest.pop(chat_id, None)

    def get(self, key: str, chat_id: int) -> Answer | None:
        chat, answer = self._items.get(key, (None, None))
        return answer if chat == chat_id else None


@dataclass
class BotState:
    """What the handlers share; one per Application, kept in ``bot_data``."""

    settings: Settings
    engine: Engine
    questions: RateLimiter  # questions: a search each
    commands: RateLimiter  # everything else a user can ask for: /start, /sources, the Sources button...
    answers: AnswerStore = field(default_factory=AnswerStore)
    reindex_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    background: set[asyncio.Task[None]] = field(default_factory=set)

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.settings.admin_ids


def build_application(settings: Settings, engine: Engine) -> Application:
    """The bot, wired: handlers, concurrency, flood-control retries, error handler."""
    from telegram.ext import (
        AIORateLimiter,
        ApplicationBuilder,
        CallbackQueryHandler,
        CommandHandler,
        MessageHandler,
        filters,
    )

    if settings.telegram_token is None:
        raise BotConfigError("RAGBOT_TELEGRAM_TOKEN is not set: create a bot with @BotFather and put its token in .env")
    check_token_shape(settings.telegram_token.get_secret_value())
    if settings.webhook_url and settings.webhook_secret is None:
        raise BotConfigError("RAGBOT_WEBHOOK_SECRET is required with RAGBOT_WEBHOOK_URL")
    if not re.match(r"https?://[^/\s]", settings.telegram_api_url):
        raise BotConfigError(
            f"RAGBOT_TELEGRAM_API_URL must be an http(s) URL, not {redact(settings.telegram_api_url)!r}"
        )
    api = settings.telegram_api_url.rstrip("/")
    app = (
        ApplicationBuilder()
        .token(settings.telegram_token.get_secret_value())
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .request(json_request(pool_size=256))  # PTB's own default sizes
        .get_updates_request(json_request(pool_size=1))
        .concurrent_updates(settings.telegram_concurrency)
        .rate_limiter(AIORateLimiter(max_retries=settings.telegram_send_retries))
        .post_init(_post_init)
        .build()
    )
    app.bot_data["state"] = BotState(
        settings=settings,
        engine=engine,
        questions=RateLimiter(settings.rate_limit_questions, settings.rate_limit_seconds),
        commands=RateLimiter(settings.rate_limit_commands, settings.rate_limit_seconds),
    )
    new = filters.UpdateType.MESSAGE  # an edited message was answered again: only new ones are read
    app.add_handler(CommandHandler(["start", "help"], start, filters=new))
    app.add_handler(CommandHandler("sources", sources, filters=new))
    app.add_handler(CommandHandler("new", new_conversation, filters=new))
    app.add_handler(CommandHandler("ask", ask_command, filters=new))
    app.add_handler(CommandHandler("reindex", reindex, filters=new))
    app.add_handler(CommandHandler("stats", stats, filters=new))
    app.add_handler(CommandHandler("remove", remove, filters=new))
    app.add_handler(CallbackQueryHandler(show_sources, pattern=f"^{SOURCES_PREFIX}"))
    app.add_handler(MessageHandler(new & filters.Document.ALL & filters.ChatType.PRIVATE, upload))
    app.add_handler(MessageHandler(new & filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE, private_text))
    app.add_handler(MessageHandler(new & filters.TEXT & ~filters.COMMAND & filters.ChatType.GROUPS, group_text))
    # A photo, a voice message, a sticker… in a private chat: said to be unread, not ignored.
    unread = new & filters.ChatType.PRIVATE & ~filters.TEXT & ~filters.Document.ALL & ~filters.StatusUpdate.ALL
    app.add_handler(MessageHandler(unread, not_text))
    app.add_error_handler(on_error)
    return app


async def _post_init(app: Application) -> None:
    from telegram import BotCommand

    await app.bot.set_my_commands(
        [
            BotCommand("ask", "Ask a question about the articles"),
            BotCommand("sources", "List the indexed articles"),
            BotCommand("new", "Start a new conversation"),
            BotCommand("help", "How to use this bot"),
        ]
    )


def _state(context: ContextTypes.DEFAULT_TYPE) -> BotState:
    return context.application.bot_data["state"]


def _texts(update: Update, written: str | None = None) -> Messages:
    """The user's language as Telegram gives it, unless what they wrote (``written``, a question)
    tells its own: a French question from an English-speaking account is answered, refused,
    limited and sourced in French."""
    user = update.effective_user
    return messages_for((written and written_language(written)) or (user.language_code if user else None))


# --- handlers --------------------------------------------------------------------------------


async def _read_index(update: Update, read: Callable[[], Any], texts: Messages | None = None) -> Any:
    """Run a read of the index in a worker thread; None, after telling the user (in ``texts``, by
    default the user's language), when there is no usable index (not built yet, or damaged / built
    with another model: an admin's /reindex mends both; or its server cannot be reached for now)."""
    texts = texts or _texts(update)
    try:
        return await asyncio.to_thread(read)
    except IndexNotBuilt:
        await reply(update, texts.no_index)
    except (IndexCorrupt, ModelMismatch) as err:
        log.warning("index unusable: %s", err)
        await reply(update, texts.index_unusable)
    except StoreUnavailable as err:  # the store's server is down: this chat is told, the others go on
        log.warning("index unreachable: %s", err)
        await reply(update, texts.index_unreachable)
    return None


Handler = Callable[["Update", "ContextTypes.DEFAULT_TYPE"], Awaitable[None]]


async def _admit(update: Update, context: ContextTypes.DEFAULT_TYPE, *, question: bool) -> bool:
    """The user's rate limit: False when over it (the first refusal says so). Questions (a search
    each) have their budget, RAGBOT_RATE_LIMIT_QUESTIONS; everything else a user can ask for
    (/start, /help, /sources, /new, the Sources button, refused admin commands) draws on its own,
    larger one, RAGBOT_RATE_LIMIT_COMMANDS: a newcomer's /start is not a question less, and a
    flood of commands still gets one notice, then silence."""
    state = _state(context)
    limiter = state.questions if question else state.commands
    user = update.effective_user
    decision = limiter.check(user.id if user else update.effective_chat.id)
    if decision is Decision.NOTIFY:
        written = update.effective_message.text if question and update.effective_message else None
        await reply(update, _texts(update, written).slow_down)
    return decision is Decision.ALLOW


def rate_limited(*, question: bool) -> Callable[[Handler], Handler]:
    """Run the handler only within the user's budget of questions, or of other requests."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def limited(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            if await _admit(update, context, question=question):
                await handler(update, context)

        return limited

    return decorate


@rate_limited(question=False)
async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start and /help: what the bot knows and how to ask."""
    await welcome(update, context, _texts(update))


async def welcome(update: Update, context: ContextTypes.DEFAULT_TYPE, texts: Messages) -> None:
    """What the bot knows and how to ask, in ``texts``' language."""
    summaries = await _read_index(update, _state(context).engine.sources)
    if summaries is None:
        return
    await reply(update, texts.welcome.format(articles=len(summaries), dates=render.date_span(summaries)), html=True)


@rate_limited(question=False)
async def sources(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/sources: the indexed articles."""
    await list_articles(update, context, _texts(update))


async def list_articles(update: Update, context: ContextTypes.DEFAULT_TYPE, texts: Messages) -> None:
    """The indexed articles, one line each (with its id for an admin), headed in ``texts``' language."""
    state = _state(context)
    summaries = await _read_index(update, state.engine.sources)
    if summaries is not None:
        user = update.effective_user
        admin = state.is_admin(user.id if user else None)  # an admin sees the ids /remove takes
        await reply(update, render.articles_html(summaries, texts, ids=admin), html=True)


@rate_limited(question=False)
async def new_conversation(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/new: forget the previous question, so the next one is not read as a follow-up."""
    _state(context).engine.forget(update.effective_chat.id)
    _state(context).answers.forget_latest(update.effective_chat.id)
    await reply(update, _texts(update).new_conversation)


@rate_limited(question=True)
async def ask_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/ask <question>: works in private chats and groups."""
    question = " ".join(context.args or [])
    if not question.strip():
        await reply(update, _texts(update).ask_usage)
        return
    await answer_question(update, context, question)


@rate_limited(question=True)
async def private_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any text in a private chat is a question."""
    await answer_question(update, context, update.effective_message.text)


@rate_limited(question=False)
async def not_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A private message that is no text (a photo, a voice message, a sticker): only text is read."""
    await reply(update, _texts(update).not_text)


async def group_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """In groups, answer only when mentioned or replied to."""
    message = update.effective_message
    question = addressed_question(message, context.bot.username, context.bot.id)
    if question is not None and await _admit(update, context, question=True):
        await answer_question(update, context, question)


async def show_sources(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The "Sources" button: send the quoted passages behind an answer."""
    query = update.callback_query
    texts = _texts(update)
    await query.answer()
    if query.message is None or not query.data:  # our buttons are on our messages: a forged press
        log.info("button press without a message or data ignored (update %s)", update.update_id)
        return
    if not await _admit(update, context, question=False):
        return
    chat_id = query.message.chat.id
    answer = _state(context).answers.get(query.data.removeprefix(SOURCES_PREFIX), chat_id)
    if answer is None:
        await send(context, chat_id, texts.sources_gone)
        return
    await send(context, chat_id, render.sources_html(answer), html=True)


def admin_only(handler: Handler) -> Handler:
    """Run ``handler`` only for ids in RAGBOT_ADMIN_IDS; everyone else gets a refusal (fail closed)."""

    @functools.wraps(handler)
    async def gated(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        user = update.effective_user
        if not _state(context).is_admin(user.id if user else None):
            if await _admit(update, context, question=False):  # refusals count against the limit too
                await reply(update, _texts(update).admin_only)
            return
        await handler(update, context)

    return gated


@admin_only
async def reindex(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/reindex (admins): rebuild the index in the background, then swap it in."""
    state = _state(context)
    texts = _texts(update)
    if state.reindex_lock.locked():
        await reply(update, texts.reindex_running)
        return
    await state.reindex_lock.acquire()
    try:  # a failed acknowledgement (network, blocked chat) must not keep the lock for ever
        await reply(update, texts.reindex_started)
    except BaseException:
        state.reindex_lock.release()
        raise
    task = asyncio.create_task(_run_reindex(state, context, update.effective_chat.id, texts))
    state.background.add(task)
    task.add_done_callback(state.background.discard)


@admin_only
async def remove(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/remove <article id> (admins): delete the article's file, then re-index; answers leave it out
    from the next question on (as ``ragbot remove``)."""
    state = _state(context)
    texts = _texts(update)
    article_id = " ".join(context.args or []).strip()
    if not article_id:
        await reply(update, texts.remove_usage)
        return
    async with state.reindex_lock:  # removals, uploads and /reindex take turns
        try:
            report = await asyncio.to_thread(state.engine.remove, article_id)
        except IndexBusy:
            await reply(update, texts.reindex_running)
            return
        except UnknownArticle:  # its message names the server's folder: not for a chat
            await reply(update, texts.remove_unknown.format(id=article_id))
            return
    await reply(
        update,
        texts.removed.format(id=article_id, articles=report.articles, passages=report.passages, seconds=report.seconds),
    )


@admin_only
async def upload(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An admin's document (.txt, .md, .html): validated, added to the articles, re-indexed."""
    state = _state(context)
    texts = _texts(update)
    document = update.effective_message.document
    name = document.file_name or "upload.txt"
    if not name.lower().endswith(SUPPORTED_SUFFIXES):
        await reply(update, texts.upload_refused.format(reason=texts.upload_types))
        return
    cap = state.settings.max_article_bytes
    too_large = texts.upload_refused.format(reason=texts.upload_too_large.format(limit=cap))
    if (document.file_size or 0) > cap:  # declared too large: nothing is downloaded
        await reply(update, too_large)
        return
    deadline = state.settings.telegram_download_seconds
    try:  # downloaded before taking the lock: a slow file server never blocks /reindex or other uploads
        raw = await asyncio.wait_for(download_capped(document, cap, timeout=deadline), deadline)
    except TooLarge:
        await reply(update, too_large)
        return
    except TimeoutError:
        log.warning("upload %r not downloaded: no answer within %g s", name, deadline)
        await reply(update, texts.upload_refused.format(reason=texts.upload_timeout.format(seconds=deadline)))
        return
    except DownloadFailed as err:
        log.warning("upload %r not downloaded: %s", name, err)
        await reply(update, texts.upload_refused.format(reason=texts.upload_download_failed))
        return
    async with state.reindex_lock:  # uploads and /reindex take turns
        try:
            added, report = await asyncio.to_thread(state.engine.add_upload, name, raw)
        except IndexBusy:
            await reply(update, texts.reindex_running)
            return
        except BadArticle as err:
            await reply(update, texts.upload_refused.format(reason=err.reason))
            return
    await reply(update, _added_text(texts, added, report))


def _added_text(texts: Messages, added: Added, index: IndexReport) -> str:
    """What an admin is told of an article added (an upload or a link): its title, id, the index now."""
    return texts.upload_added.format(
        title=added.title,
        id=added.article_id,
        articles=index.articles,
        passages=index.passages,
        seconds=index.seconds,
        warnings="".join(f"\n• {w}" for w in added.warnings),
    )


async def sent_links(update: Update, context: ContextTypes.DEFAULT_TYPE, texts: Messages, links: list[str]) -> None:
    """A message that is only links: an admin's, in a private chat, adds the articles they point to
    (as ``ragbot add URL``: fetched with the same guards, then re-indexed); anyone else is told that
    links are not opened."""
    from telegram.constants import ChatAction

    state = _state(context)
    user = update.effective_user
    if not state.is_admin(user.id if user else None):
        await reply(update, texts.link_not_read)
        return
    if update.effective_chat.type != "private":  # added where only the admin reads what it says
        await reply(update, texts.link_in_group)
        return
    await context.bot.send_chat_action(update.effective_chat.id, ChatAction.TYPING)
    urls = [link if "://" in link else f"https://{link}" for link in links]  # "www.…" is a web address
    # Fetched and checked before taking the lock: a slow server keeps no upload or /reindex waiting.
    prepared = await asyncio.to_thread(state.engine.library().prepare, urls)
    async with state.reindex_lock:  # links, uploads, removals and /reindex take turns
        try:
            report, index = await asyncio.to_thread(state.engine.add_prepared, prepared)
        except IndexBusy:
            await reply(update, texts.reindex_running)
            return
    lines = [_added_text(texts, added, index) for added in report.added if index is not None]
    lines += [texts.upload_refused.format(reason=f"{err.label}: {err.reason}") for err in report.refused]
    await reply(update, "\n".join(lines))


async def _run_reindex(state: BotState, context: ContextTypes.DEFAULT_TYPE, chat_id: int, texts: Messages) -> None:
    """Re-index in a thread, release the lock (whatever happened), then say how it went."""
    try:
        outcome = await _reindex_outcome(state, texts)
    finally:
        state.reindex_lock.release()
    try:
        await send(context, chat_id, outcome)
    except Exception:  # the chat may be gone by now; the index is built all the same
        log.warning("could not tell chat %s how the re-index went", chat_id, exc_info=True)


async def _reindex_outcome(state: BotState, texts: Messages) -> str:
    try:
        report = await asyncio.to_thread(state.engine.index)
    except IndexBusy:
        return texts.reindex_running
    except RagbotError as err:
        return texts.reindex_failed.format(reason=err)
    except Exception as err:
        log.exception("re-index failed")
        return texts.reindex_failed.format(reason=type(err).__name__)
    skipped = "".join(f"\n• {e}" for e in report.errors)
    return texts.reindex_done.format(
        articles=report.articles, passages=report.passages, seconds=report.seconds, errors=skipped
    )


@admin_only
async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/stats (admins): index size, model, build time."""
    result = await _read_index(update, _state(context).engine.stats)
    if result is not None:
        await reply(update, render.stats_text(result))


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log any handler failure with its context and tell the user something went wrong.

    A failed poll (update None) of an unreachable Bot API is one line: PTB retries it with backoff.
    """
    from telegram import Update
    from telegram.error import BadRequest, NetworkError

    if update is None and isinstance(context.error, NetworkError) and not isinstance(context.error, BadRequest):
        log.warning("Bot API unreachable while polling (%s); retrying", describe_error(context.error))
        return
    chat = update.effective_chat.id if isinstance(update, Update) and update.effective_chat else None
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("error handling update %s (chat %s)", update_id, chat, exc_info=context.error)
    if chat is not None:
        try:
            await send(context, chat, _texts(update).error)
        except Exception:
            log.warning("could not tell chat %s about the error", chat, exc_info=True)


# --- answering ------------------------------------------------------------------------------


async def answer_question(update: Update, context: ContextTypes.DEFAULT_TYPE, question: str) -> None:
    """Gatekeeping (length), then search in a thread, then a cited reply with a Sources button.

    The caller has already applied the rate limit.
    """
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup
    from telegram.constants import ChatAction

    state = _state(context)
    texts = _texts(update, question)
    question = " ".join(question.split())
    if not question:
        await reply(update, texts.empty_question)
        return
    if kind := courtesy(question):  # "hello", "merci !", "what can you do?", a link: no question to search for
        if kind == "link":  # an address tells no language (a French site's, an English account): the account's
            await sent_links(update, context, _texts(update), links_in(question))
        elif kind == "wordless":  # "???", "🙂"
            await reply(update, texts.empty_question)
        elif kind == "sources":  # "sources?", « D'où ça vient ? »: as the last answer's Sources button
            last = state.answers.latest(update.effective_chat.id)
            await (
                reply(update, render.sources_html(last), html=True) if last else list_articles(update, context, texts)
            )
        else:
            await (reply(update, texts.you_are_welcome) if kind == "thanks" else welcome(update, context, texts))
        return
    if len(question) > state.settings.max_question_chars:
        await reply(update, texts.too_long.format(length=len(question), limit=state.settings.max_question_chars))
        return

    await context.bot.send_chat_action(update.effective_chat.id, ChatAction.TYPING)
    ask = functools.partial(state.engine.ask, question, chat=update.effective_chat.id)
    answer = await _read_index(update, ask, texts)
    if answer is None:
        return
    if answer.abstained:
        state.answers.forget_latest(update.effective_chat.id)
        await reply(update, render.answer_html(answer, texts), html=True)
        return
    key = state.answers.put(answer, update.effective_chat.id)
    button = InlineKeyboardMarkup([[InlineKeyboardButton(texts.sources_button, callback_data=SOURCES_PREFIX + key)]])
    await reply(update, render.answer_html(answer, texts), html=True, markup=button)


def addressed_question(message: Message, bot_username: str, bot_id: int) -> str | None:
    """The question in a group message meant for the bot, or None when it is not for us."""
    text = message.text or ""
    mention = f"@{bot_username}"
    if re.search(rf"(?<!\w){re.escape(mention)}\b", text, re.IGNORECASE):
        return re.sub(rf"(?<!\w){re.escape(mention)}\b", " ", text, flags=re.IGNORECASE).strip(" ,:")
    reply = message.reply_to_message
    if reply is not None and reply.from_user is not None and reply.from_user.id == bot_id:
        return text
    return None
