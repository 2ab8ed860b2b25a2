"""Logging for the front ends: stderr only, third-party chatter down, secrets redacted.

Redaction applies to the whole formatted record (message, traceback, stack), so a secret
inside an exception's text (PTB's ``InvalidToken`` quotes the token) is caught too. It
works by shape (bot tokens, credentials inside URLs, bearer tokens, secret query
parameters) and by value (the configured token, API key, webhook secret, Milvus token and
password, URL passwords). Every record is redacted as it is made, whichever library's logger
makes it and whatever handler prints it (pymilvus installs handlers of its own).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from retrieval.redaction import Redactor

from .render import terminal_safe


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


#: The loggers that are ragbot's own (module names, and log_crash's): only these log below WARNING.
OWN_LOGGERS = ("retrieval", "bot", "ragbot")


class OnlyOwnDetail(logging.Filter):
    """Below WARNING, only ragbot's own records: ``-v`` (INFO) shows our progress, not a library's
    (``INFO faiss.loader: Could not load library with AVX512 support``), whatever level the
    library gave its own logger. At DEBUG (set in code, for debugging) everything shows."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or record.name.split(".", 1)[0] in OWN_LOGGERS


class RedactingRecords:
    """A log record factory that redacts every record as it is made, whatever logger makes it and
    whatever handler later prints it: a library that installs a handler of its own (pymilvus does,
    on import) prints a redacted message, traceback and stack too."""

    def __init__(self, make: Callable[..., logging.LogRecord], redactor: Redactor) -> None:
        self.make = make
        self.redactor = redactor

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.make(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: logging reports it when the record is formatted
            return record
        redacted = self.redactor(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self.redactor(logging.Formatter().formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = self.redactor(record.stack_info)
        return record


def setup_logging(level: int = logging.WARNING, redactor: Redactor | None = None) -> None:
    """Log to stderr at ``level`` with secrets redacted; warnings go through the same path."""
    redactor = redactor or Redactor()
    factory = logging.getLogRecordFactory()
    if isinstance(factory, RedactingRecords):  # set up again (tests, a second CLI run): one layer only
        factory = factory.make
    logging.setLogRecordFactory(RedactingRecords(factory, redactor))
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", redactor))
    handler.addFilter(RedactSecrets(redactor))
    if level > logging.DEBUG:
        handler.addFilter(OnlyOwnDetail())
    handler.setLevel(level)  # libraries that set their own logger to DEBUG stay quiet too
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.captureWarnings(True)
    # httpx logs every request URL at INFO, and a Bot API URL holds the token.
    for noisy in ("httpx", "httpcore", "urllib3", "sentence_transformers", "transformers", "filelock"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    # pymilvus logs every refused call at ERROR before raising it; ragbot then says it in one line.
    logging.getLogger("pymilvus").setLevel(logging.WARNING if level <= logging.INFO else logging.CRITICAL)


def log_crash(error: BaseException) -> None:
    """Report an unexpected exception through the redacting handler (installing one if none is set)."""
    root = logging.getLogger()
    if not any(isinstance(h.formatter, RedactingFormatter) for h in root.handlers):
        setup_logging()
    logging.getLogger("ragbot").critical(
        "unexpected error (%s); please report it", type(error).__name__, exc_info=error
    )
