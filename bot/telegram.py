"""Telegram front end: a python-telegram-bot ``Application`` over the same engine as the CLI.

Every handler is a small coroutine; search, model inference and indexing run in
worker threads so one slow question never stalls the other chats.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import re
import secrets
import warnings
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from retrieval.config import Settings
from retrieval.corpus.articles import SUPPORTED_SUFFIXES
from retrieval.engine import Engine
from retrieval.errors import BadArticle, IndexCorrupt, IndexNotBuilt, ModelMismatch, RagbotError, StoreUnavailable
from retrieval.lock import IndexBusy
from retrieval.redaction import redact
from retrieval.types import Answer

from . import render
from .ratelimit import Decision, RateLimiter
from .split import split_html
from .texts import Messages, messages_for

if TYPE_CHECKING:
    from telegram import Message, Update
    from telegram.ext import Application, ContextTypes

log = logging.getLogger(__name__)

SOURCES_PREFIX = "src:"


class BotConfigError(RagbotError):
    """The bot cannot start as configured: no token, a token the Bot API rejects, a webhook without secret."""

    exit_code = 2


class BotApiUnreachable(RagbotError):
    """The Bot API could not be reached in RAGBOT_TELEGRAM_CONNECT_ATTEMPTS attempts."""


class TooLarge(Exception):
    """A download went over its byte cap."""


class DownloadFailed(Exception):
    """A document could not be read from the Bot API (its message never quotes the file URL)."""


class AnswerStore:
    """Recent answers, so a "Sources" button can expand them later (bounded, newest kept)."""

    def __init__(self, capacity: int = 2000) -> None:
        self._items: OrderedDict[str, Answer] = OrderedDict()
        self._capacity = capacity

    def put(self, answer: Answer) -> str:
        key = secrets.token_urlsafe(9)
        self._items[key] = answer
        while len(self._items) > self._capacity:
            self._items.popitem(last=False)
        return key

    def get(self, key: str) -> Answer | None:
        return self._items.get(key)


@dataclass
class BotState:
    """What the handlers share; one per Application, kept in ``bot_data``."""

    settings: Settings
    engine: Engine
    limiter: RateLimiter
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
        .request(_json_request(pool_size=256))  # PTB's own default sizes
        .get_updates_request(_json_request(pool_size=1))
        .concurrent_updates(settings.telegram_concurrency)
        .rate_limiter(AIORateLimiter(max_retries=settings.telegram_send_retries))
        .post_init(_post_init)
        .build()
    )
    app.bot_data["state"] = BotState(
        settings=settings,
        engine=engine,
        limiter=RateLimiter(settings.rate_limit_questions, settings.rate_limit_seconds),
    )
    app.add_handler(CommandHandler(["start", "help"], start))
    app.add_handler(CommandHandler("sources", sources))
    app.add_handler(CommandHandler("new", new_conversation))
    app.add_handler(CommandHandler("ask", ask_command))
    app.add_handler(CommandHandler("reindex", reindex))
    app.add_handler(CommandHandler("stats", stats))
    app.add_handler(CallbackQueryHandler(show_sources, pattern=f"^{SOURCES_PREFIX}"))
    app.add_handler(MessageHandler(filters.Document.ALL & filters.ChatType.PRIVATE, upload))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE, private_text))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND & filters.ChatType.GROUPS, group_text))
    app.add_error_handler(on_error)
    return app


def _json_request(pool_size: int) -> Any:
    """PTB's HTTPX request, except that an answer which is not JSON (a proxy's HTML error page, a
    cut-off body, even with status 200) is a server fault: a ``NetworkError``, retried like one, and
    not logged by PTB with the whole page and a traceback."""
    from telegram.error import NetworkError
    from telegram.request import HTTPXRequest

    class JsonRequest(HTTPXRequest):
        @staticmethod
        def parse_json_payload(payload: bytes) -> dict[str, Any]:
            try:
                data = json.loads(payload.decode("utf-8", "replace"))
            except ValueError:
                data = None
            if not isinstance(data, dict):
                raise NetworkError("the answer is not a JSON object")
            return data

    return JsonRequest(connection_pool_size=pool_size)


def _reason(err: Exception) -> str:
    """An error from the Bot API on one short line: PTB quotes a non-JSON answer's whole body."""
    text, cut, _ = str(err).partition(". Parsing the server response")
    text = redact(" ".join(text.split()))
    return f"{type(err).__name__}: {text[:200]}{', not a JSON object' if cut else ''}"


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


def _texts(update: Update) -> Messages:
    user = update.effective_user
    return messages_for(user.language_code if user else None)


# --- handlers --------------------------------------------------------------------------------


async def _read_index(update: Update, read: Callable[[], Any]) -> Any:
    """Run a read of the index in a worker thread; None, after telling the user, when there is no
    usable index (not built yet, or damaged / built with another model: an admin's /reindex mends
    both; or its server cannot be reached for now)."""
    try:
        return await asyncio.to_thread(read)
    except IndexNotBuilt:
        await _reply(update, _texts(update).no_index)
    except (IndexCorrupt, ModelMismatch) as err:
        log.warning("index unusable: %s", err)
        await _reply(update, _texts(update).index_unusable)
    except StoreUnavailable as err:  # the store's server is down: this chat is told, the others go on
        log.warning("index unreachable: %s", err)
        await _reply(update, _texts(update).index_unreachable)
    return None


Handler = Callable[["Update", "ContextTypes.DEFAULT_TYPE"], Awaitable[None]]


async def _admit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """The per-user rate limit every reply shares: False when over it (the first refusal says so)."""
    user = update.effective_user
    decision = _state(context).limiter.check(user.id if user else update.effective_chat.id)
    if decision is Decision.NOTIFY:
        await _reply(update, _texts(update).slow_down)
    return decision is Decision.ALLOW


def rate_limited(handler: Handler) -> Handler:
    """Run ``handler`` only within the user's rate limit (questions, /sources, /start... share it)."""

    @functools.wraps(handler)
    async def limited(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if await _admit(update, context):
            await handler(update, context)

    return limited


@rate_limited
async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start and /help: what the bot knows and how to ask."""
    texts = _texts(update)
    summaries = await _read_index(update, _state(context).engine.sources)
    if summaries is None:
        return
    dates = sorted(s.info.date for s in summaries if s.info.date)
    span = f"{dates[0][:7]} – {dates[-1][:7]}" if dates else "?"
    await _reply(update, texts.welcome.format(articles=len(summaries), dates=span), html=True)


@rate_limited
async def sources(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/sources: the indexed articles."""
    summaries = await _read_index(update, _state(context).engine.sources)
    if summaries is not None:
        await _reply(update, render.articles_html(summaries, _texts(update)), html=True)


@rate_limited
async def new_conversation(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/new: forget the previous question, so the next one is not read as a follow-up."""
    _state(context).engine.forget(update.effective_chat.id)
    await _reply(update, _texts(update).new_conversation)


@rate_limited
async def ask_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/ask <question>: works in private chats and groups."""
    question = " ".join(context.args or [])
    if not question.strip():
        await _reply(update, _texts(update).ask_usage)
        return
    await answer_question(update, context, question)


@rate_limited
async def private_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any text in a private chat is a question."""
    await answer_question(update, context, update.effective_message.text)


async def group_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """In groups, answer only when mentioned or replied to."""
    message = update.effective_message
    question = addressed_question(message, context.bot.username, context.bot.id)
    if question is not None and await _admit(update, context):
        await answer_question(update, context, question)


async def show_sources(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The "Sources" button: send the quoted passages behind an answer."""
    query = update.callback_query
    texts = _texts(update)
    await query.answer()
    if not await _admit(update, context):
        return
    answer = _state(context).answers.get(query.data.removeprefix(SOURCES_PREFIX))
    if answer is None:
        await _send(context, query.message.chat_id, texts.sources_gone)
        return
    await _send(context, query.message.chat_id, render.sources_html(answer, texts), html=True)


def admin_only(handler: Handler) -> Handler:
    """Run ``handler`` only for ids in RAGBOT_ADMIN_IDS; everyone else gets a refusal (fail closed)."""

    @functools.wraps(handler)
    async def gated(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        user = update.effective_user
        if not _state(context).is_admin(user.id if user else None):
            if await _admit(update, context):  # refusals count against the limit too
                await _reply(update, _texts(update).admin_only)
            return
        await handler(update, context)

    return gated


@admin_only
async def reindex(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/reindex (admins): rebuild the index in the background, then swap it in."""
    state = _state(context)
    texts = _texts(update)
    if state.reindex_lock.locked():
        await _reply(update, texts.reindex_running)
        return
    await state.reindex_lock.acquire()
    await _reply(update, texts.reindex_started)
    chat_id = update.effective_chat.id
    task = asyncio.create_task(_run_reindex(state, context, chat_id, texts))
    state.background.add(task)
    task.add_done_callback(state.background.discard)


@admin_only
async def upload(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An admin's document (.txt, .md, .html): validated, added to the articles, re-indexed."""
    state = _state(context)
    texts = _texts(update)
    document = update.effective_message.document
    name = document.file_name or "upload.txt"
    if not name.lower().endswith(SUPPORTED_SUFFIXES):
        await _reply(update, texts.upload_refused.format(reason=texts.upload_types))
        return
    cap = state.settings.max_article_bytes
    too_large = texts.upload_refused.format(reason=texts.upload_too_large.format(limit=cap))
    if (document.file_size or 0) > cap:  # declared too large: nothing is downloaded
        await _reply(update, too_large)
        return
    deadline = state.settings.telegram_download_seconds
    try:  # downloaded before taking the lock: a slow file server never blocks /reindex or other uploads
        raw = await asyncio.wait_for(download_capped(document, cap, timeout=deadline), deadline)
    except TooLarge:
        await _reply(update, too_large)
        return
    except TimeoutError:
        log.warning("upload %r not downloaded: no answer within %g s", name, deadline)
        await _reply(update, texts.upload_refused.format(reason=texts.upload_timeout.format(seconds=deadline)))
        return
    except DownloadFailed as err:
        log.warning("upload %r not downloaded: %s", name, err)
        await _reply(update, texts.upload_refused.format(reason=texts.upload_download_failed))
        return
    async with state.reindex_lock:  # uploads and /reindex take turns
        try:
            added, report = await asyncio.to_thread(state.engine.add_upload, name, raw)
        except IndexBusy:
            await _reply(update, texts.reindex_running)
            return
        except BadArticle as err:
            await _reply(update, texts.upload_refused.format(reason=err.reason))
            return
    warnings = "".join(f"\n• {w}" for w in added.warnings)
    await _reply(
        update,
        texts.upload_added.format(
            title=added.title,
            id=added.article_id,
            articles=report.articles,
            passages=report.passages,
            seconds=report.seconds,
            warnings=warnings,
        ),
    )


async def download_capped(document: Any, cap: int, *, timeout: float = 30.0) -> bytes:
    """A document's bytes, refused (:class:`TooLarge`) past ``cap`` bytes whatever its declared size.

    The size in the message is optional and the sender's word: the download itself is capped.
    A network wait over ``timeout`` raises :class:`TimeoutError` (the caller bounds the whole); any
    other failure to get the file (Bot API or file server) is a :class:`DownloadFailed`.
    """
    from telegram.error import BadRequest, TelegramError, TimedOut

    try:
        file = await document.get_file()
        if (file.file_size or 0) > cap:
            raise TooLarge
        path = file.file_path or ""
        if not path.startswith(("http://", "https://")):  # a local Bot API server hands out file paths
            raw = bytes(await file.download_as_bytearray())
            if len(raw) > cap:
                raise TooLarge
            return raw
    except BadRequest as err:
        if "too big" in str(err).lower():  # the Bot API serves no file over 20 MB
            raise TooLarge from None
        raise DownloadFailed(f"the Bot API refused getFile: {redact(str(err))}") from None
    except TimedOut:
        raise TimeoutError from None
    except TelegramError as err:
        raise DownloadFailed(f"{type(err).__name__}: {redact(str(err))}") from None
    return await _fetch_capped(path, cap, timeout)


async def _fetch_capped(url: str, cap: int, timeout: float) -> bytes:
    import httpx

    chunks: list[bytes] = []
    size = 0
    try:
        async with httpx.AsyncClient(timeout=timeout) as client, client.stream("GET", url) as response:
            response.raise_for_status()
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > cap:
                raise TooLarge
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > cap:
                    raise TooLarge
                chunks.append(chunk)
    except httpx.TimeoutException:
        raise TimeoutError from None
    except httpx.HTTPError as err:
        # httpx's message quotes the URL, and a Bot API file URL holds the token.
        status = getattr(getattr(err, "response", None), "status_code", None)
        raise DownloadFailed(
            f"download from the Bot API file server failed ({type(err).__name__}{f' {status}' if status else ''})"
        ) from None
    return b"".join(chunks)


async def _run_reindex(state: BotState, context: ContextTypes.DEFAULT_TYPE, chat_id: int, texts: Messages) -> None:
    try:
        report = await asyncio.to_thread(state.engine.index)
    except IndexBusy:
        await _send(context, chat_id, texts.reindex_running)
        return
    except RagbotError as err:
        await _send(context, chat_id, texts.reindex_failed.format(reason=err))
        return
    except Exception as err:
        log.exception("re-index failed")
        await _send(context, chat_id, texts.reindex_failed.format(reason=type(err).__name__))
        return
    finally:
        state.reindex_lock.release()
    skipped = "".join(f"\n• {e}" for e in report.errors)
    await _send(
        context,
        chat_id,
        texts.reindex_done.format(
            articles=report.articles, passages=report.passages, seconds=report.seconds, errors=skipped
        ),
    )


@admin_only
async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/stats (admins): index size, model, build time."""
    result = await _read_index(update, _state(context).engine.stats)
    if result is not None:
        await _reply(update, render.stats_text(result))


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log any handler failure with its context and tell the user something went wrong.

    A failed poll (update None) of an unreachable Bot API is one line: PTB retries it with backoff.
    """
    from telegram import Update
    from telegram.error import BadRequest, NetworkError

    if update is None and isinstance(context.error, NetworkError) and not isinstance(context.error, BadRequest):
        log.warning("Bot API unreachable while polling (%s); retrying", _reason(context.error))
        return
    chat = update.effective_chat.id if isinstance(update, Update) and update.effective_chat else None
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("error handling update %s (chat %s)", update_id, chat, exc_info=context.error)
    if chat is not None:
        try:
            await _send(context, chat, _texts(update).error)
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
    texts = _texts(update)
    question = " ".join(question.split())
    if not question:
        await _reply(update, texts.empty_question)
        return
    if len(question) > state.settings.max_question_chars:
        await _reply(update, texts.too_long.format(length=len(question), limit=state.settings.max_question_chars))
        return

    await context.bot.send_chat_action(update.effective_chat.id, ChatAction.TYPING)
    answer = await _read_index(update, functools.partial(state.engine.ask, question, chat=update.effective_chat.id))
    if answer is None:
        return
    if answer.abstained:
        await _reply(update, render.answer_html(answer, texts), html=True)
        return
    key = state.answers.put(answer)
    button = InlineKeyboardMarkup([[InlineKeyboardButton(texts.sources_button, callback_data=SOURCES_PREFIX + key)]])
    await _reply(update, render.answer_html(answer, texts), html=True, markup=button)


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


# --- sending --------------------------------------------------------------------------------


async def _reply(update: Update, text: str, *, html: bool = False, markup: Any = None) -> None:
    message = update.effective_message
    await _send_pieces(message.get_bot(), message.chat_id, text, html=html, markup=markup, reply_to=message.message_id)


async def _send(context: ContextTypes.DEFAULT_TYPE, chat_id: int, text: str, *, html: bool = False) -> None:
    await _send_pieces(context.bot, chat_id, text, html=html)


async def _send_pieces(
    bot: Any, chat_id: int, text: str, *, html: bool, markup: Any = None, reply_to: int | None = None
) -> None:
    """Send ``text`` as one or more messages within Telegram's limit; the button goes on the last.

    Plain text is escaped and sent as HTML too, so both kinds split the same way. If
    Telegram cannot parse a piece's entities, that piece is resent as plain text.
    """
    from telegram import ReplyParameters
    from telegram.error import BadRequest

    body = text if html else render.escape_html(text)
    pieces = [p for p in split_html(body) if p.strip()]
    for i, piece in enumerate(pieces):
        last = i == len(pieces) - 1
        kwargs: dict[str, Any] = {"reply_markup": markup if last else None}
        if i == 0 and reply_to is not None:
            kwargs["reply_parameters"] = ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
        try:
            await bot.send_message(chat_id, piece.strip(), parse_mode="HTML", **kwargs)
        except BadRequest as err:
            if "can't parse entities" not in str(err).lower():
                raise
            log.warning("Telegram refused our HTML (%s); sending plain text", err)
            for plain in split_html(render.html_to_plain(piece).strip()):
                await bot.send_message(chat_id, plain, **kwargs)


@dataclass(frozen=True)
class Backoff:
    """Waits between attempts to reach the Bot API: ``first``, doubling up to ``cap``.

    ``attempts`` bounds the attempts (0: keep trying), so :meth:`delays` ends after ``attempts - 1`` waits.
    """

    first: float
    cap: float
    attempts: int = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> Backoff:
        return cls(
            settings.telegram_connect_retry_seconds,
            max(settings.telegram_connect_retry_max_seconds, settings.telegram_connect_retry_seconds),
            settings.telegram_connect_attempts,
        )

    def delays(self) -> Iterator[float]:
        delay, attempt = self.first, 1
        while not self.attempts or attempt < self.attempts:
            yield delay
            delay, attempt = min(delay * 2, self.cap), attempt + 1


def api_label(settings: Settings) -> str:
    """The Bot API root for messages: no credentials, no token."""
    return redact(settings.telegram_api_url.rstrip("/"))


async def connect(app: Application, settings: Settings) -> None:
    """Reach the Bot API and check the token (``getMe``), waiting out network failures.

    Each failed attempt (network, 5xx, 429, an answer that is not JSON) is one log line and a
    wait from :class:`Backoff`; a rejected token or a refused getMe (401/404/400) is not retried
    (:class:`BotConfigError`, exit 2), and running out of attempts raises
    :class:`BotApiUnreachable`. No message quotes the token.
    """
    from telegram.error import BadRequest, InvalidToken, NetworkError, RetryAfter, TelegramError

    api = api_label(settings)
    delays = Backoff.from_settings(settings).delays()
    attempt = 0
    while True:
        attempt += 1
        try:
            await app.initialize()
            return
        except InvalidToken:  # 401/404: its message quotes the token, so it is never shown
            raise BotConfigError(
                f"the Bot API at {api} rejected RAGBOT_TELEGRAM_TOKEN: check the token @BotFather gave you"
            ) from None
        except (BadRequest, RetryAfter, NetworkError) as err:
            if isinstance(err, BadRequest):  # like a rejected token: the settings, not the network
                raise BotConfigError(
                    f"the Bot API at {api} refused getMe ({_reason(err)}): check RAGBOT_TELEGRAM_API_URL"
                ) from None
            reason = _reason(err)
            delay = next(delays, None)
            if delay is None:
                raise BotApiUnreachable(
                    f"the Bot API at {api} is unreachable after {attempt} attempts ({reason})"
                ) from None
            if isinstance(err, RetryAfter):
                with warnings.catch_warnings():  # PTB 22 warns on reading it as int seconds
                    warnings.simplefilter("ignore")
                    wait = err.retry_after
                delay = max(delay, wait.total_seconds() if hasattr(wait, "total_seconds") else float(wait))
            log.warning("Bot API at %s unreachable (%s); attempt %d, next in %.1f s", api, reason, attempt, delay)
            await asyncio.sleep(delay)
        except TelegramError as err:
            raise RagbotError(f"the Bot API at {api} refused to start the bot: {redact(str(err))}") from None


def serve(app: Application, settings: Settings, *, before_polling: Callable[[], None] = lambda: None) -> None:
    """Connect (:func:`connect`), run ``before_polling`` (e.g. build the index), then serve until stopped.

    Startup failures from the Bot API become one-line :class:`RagbotError` s; none quotes the token.
    """
    from telegram.error import InvalidToken, TelegramError

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)  # PTB's run_polling/run_webhook run on the current loop
    try:
        loop.run_until_complete(connect(app, settings))
        before_polling()
        run_application(app, settings)
    except InvalidToken:
        raise BotConfigError(f"the Bot API at {api_label(settings)} rejected RAGBOT_TELEGRAM_TOKEN") from None
    except TelegramError as err:
        raise RagbotError(f"Telegram Bot API error: {type(err).__name__}: {redact(str(err))}") from None
    finally:
        loop.close()
        asyncio.set_event_loop(None)


def run_application(app: Application, settings: Settings) -> None:
    """Serve until interrupted: a webhook when one is configured, long polling otherwise."""
    from telegram import Update

    if settings.webhook_url:
        if settings.webhook_secret is None:
            raise BotConfigError("RAGBOT_WEBHOOK_SECRET is required with RAGBOT_WEBHOOK_URL")
        path = "telegram/" + secrets.token_hex(8)
        app.run_webhook(
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            url_path=path,
            webhook_url=f"{settings.webhook_url.rstrip('/')}/{path}",
            secret_token=settings.webhook_secret.get_secret_value(),
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        app.run_polling(allowed_updates=Update.ALL_TYPES)
