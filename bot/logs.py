"""Logging for the front ends: stderr only, third-party chatter down, secrets redacted.

Redaction applies to the whole formatted record (message, traceback, stack), so a secret
inside an exception's text (PTB's ``InvalidToken`` quotes the token) is caught too. It
works by shape (bot tokens, credentials inside URLs, bearer tokens, secret query
parameters) and by value (the configured token, API key, webhook secret, URL passwords).
"""

from __future__ import annotations

import logging
import re
import sys
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .render import terminal_safe

if TYPE_CHECKING:
    from retrieval.config import Settings

REDACTED = "<redacted>"
TOKEN_RE = re.compile(r"\d+:[\w-]{30,}")
# scheme://user:password@host -> scheme://<redacted>@host (userinfo ends at the last "@" before the path)
URL_USERINFO_RE = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^\s/?#@]+@")
BEARER_RE = re.compile(r"(?i)\b(bearer\s+)[\w.~+/=-]+")
SECRET_PARAM_RE = re.compile(r"(?i)([?&](?:api[_-]?key|key|token|access[_-]?token|secret|password)=)[^&\s#'\"]+")
#: Secrets shorter than this are left to the shape rules: redacting "pw" everywhere would shred the logs.
MIN_SECRET_LENGTH = 4


def redact(text: str) -> str:
    """``text`` with everything shaped like a secret replaced by ``<redacted>``."""
    text = TOKEN_RE.sub(REDACTED, text)
    text = URL_USERINFO_RE.sub(rf"\1{REDACTED}@", text)
    text = BEARER_RE.sub(rf"\1{REDACTED}", text)
    return SECRET_PARAM_RE.sub(rf"\1{REDACTED}", text)


@dataclass(frozen=True)
class Redactor:
    """Redacts the known secret values, then everything shaped like a secret (see :func:`redact`)."""

    secrets: tuple[str, ...] = ()

    @classmethod
    def of(cls, values: Iterable[str]) -> Redactor:
        variants: set[str] = set()
        for value in values:
            for v in (value, urllib.parse.quote(value, safe=""), urllib.parse.unquote(value)):
                if len(v) >= MIN_SECRET_LENGTH:
                    variants.add(v)
        return cls(tuple(sorted(variants, key=len, reverse=True)))  # longest first: no partial leftovers

    @classmethod
    def for_settings(cls, settings: Settings) -> Redactor:
        """Every secret the settings hold: secret fields, the bot token's secret half, URL credentials."""
        values: list[str] = []
        for name in type(settings).model_fields:
            value = getattr(settings, name)
            if hasattr(value, "get_secret_value"):
                secret = str(value.get_secret_value())
                values.append(secret)
                if name == "telegram_token" and ":" in secret:
                    values.append(secret.split(":", 1)[1])
            elif isinstance(value, str) and "://" in value:
                values.extend(url_credentials(value))
        return cls.of(v for v in values if v)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return redact(text)


def url_credentials(url: str) -> list[str]:
    """The user name and password inside ``url``, if any."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return []
    return [v for v in (parts.password, parts.username) if v]


class RedactingFormatter(logging.Formatter):
    """A formatter whose whole output (message, traceback, stack) goes through a :class:`Redactor`."""

    def __init__(self, fmt: str, redactor: Redactor) -> None:
        super().__init__(fmt)
        self.redactor = redactor

    def formatException(self, ei) -> str:  # noqa: ANN001 - logging's signature
        return self.redactor(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return self.redactor(super().formatStack(stack_info))

    def format(self, record: logging.LogRecord) -> str:
        # Log lines go to a terminal and quote file names, titles and URLs: no control characters.
        return terminal_safe(self.redactor(super().format(record)))


class RedactSecrets(logging.Filter):
    """Redacts the record's message itself, for any other handler that sees it (e.g. a test's)."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self.redactor(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def setup_logging(level: int = logging.WARNING, redactor: Redactor | None = None) -> None:
    """Log to stderr at ``level`` with secrets redacted; warnings go through the same path."""
    redactor = redactor or Redactor()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", redactor))
    handler.addFilter(RedactSecrets(redactor))
    handler.setLevel(level)  # libraries that set their own logger to DEBUG stay quiet too
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.captureWarnings(True)
    # httpx logs every request URL at INFO, and a Bot API URL holds the token.
    for noisy in ("httpx", "httpcore", "urllib3", "sentence_transformers", "transformers", "filelock"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def log_crash(error: BaseException) -> None:
    """Report an unexpected exception through the redacting handler (installing one if none is set)."""
    root = logging.getLogger()
    if not any(isinstance(h.formatter, RedactingFormatter) for h in root.handlers):
        setup_logging()
    logging.getLogger("ragbot").critical(
        "unexpected error (%s); please report it", type(error).__name__, exc_info=error
    )
