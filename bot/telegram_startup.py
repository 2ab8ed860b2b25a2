"""Start-up: reach the Bot API with backoff, check the token, then poll or serve a webhook."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from retrieval.config import Settings
from retrieval.errors import RagbotError
from retrieval.redaction import redact

if TYPE_CHECKING:
    from telegram.ext import Application

log = logging.getLogger(__name__)


class BotConfigError(RagbotError):
    """The bot cannot start as configured: no token, a token the Bot API rejects, a webhook without secret."""

    exit_code = 2


class BotApiUnreachable(RagbotError):
    """The Bot API could not be reached in RAGBOT_TELEGRAM_CONNECT_ATTEMPTS attempts."""


def json_request(pool_size: int) -> Any:
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


def describe_error(err: Exception) -> str:
    """An error from the Bot API on one short line: PTB quotes a non-JSON answer's whole body."""
    text, cut, _ = str(err).partition(". Parsing the server response")
    text = redact(" ".join(text.split()))
    return f"{type(err).__name__}: {text[:200]}{', not a JSON object' if cut else ''}"


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
                    f"the Bot API at {api} refused getMe ({describe_error(err)}): check RAGBOT_TELEGRAM_API_URL"
                ) from None
            reason = describe_error(err)
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
