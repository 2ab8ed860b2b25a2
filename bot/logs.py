"""Logging for the front ends: stderr only, third-party chatter down, bot tokens redacted."""

from __future__ import annotations

import logging
import re
import sys

TOKEN_RE = re.compile(r"\d{5,}:[\w-]{30,}")


class RedactTokens(logging.Filter):
    """Replaces anything shaped like a Telegram bot token in a record with ``<redacted>``."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = TOKEN_RE.sub("<redacted>", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def setup_logging(level: int = logging.WARNING) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactTokens())
    handler.setLevel(level)  # libraries that set their own logger to DEBUG stay quiet too
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL at INFO, and a Bot API URL holds the token.
    for noisy in ("httpx", "httpcore", "urllib3", "sentence_transformers", "transformers", "filelock"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
