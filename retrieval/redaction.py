"""Redaction of secrets in text bound for a log or a terminal: by shape (bot tokens,
credentials inside URLs, bearer tokens, secret query parameters) and by value (the
configured token, API key, webhook secret, URL passwords). The core and the front ends
share it, so what counts as a secret is decided in one place.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .config import Settings

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
