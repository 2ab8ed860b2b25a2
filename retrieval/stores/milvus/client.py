"""The connection to the Milvus server.

- Credentials go to pymilvus beside the URI (``user``/``password`` or ``token``), never inside it,
  and the connection is registered under a name of its own: pymilvus names a connection after its
  URI and user (or an MD5 of its token) and prints that name when a connection fails.
- Every call has a deadline, and pymilvus's own retries are off (it retries a refused connection
  about 75 times, some 3.5 minutes, when the deadline it is given is not a whole number). The
  server being unreachable is retried here, on a fresh connection, until
  ``RAGBOT_MILVUS_TIMEOUT_SECONDS`` have passed: then one :class:`StoreUnavailable` line.
- After a failure the connection is dropped, so the first call after the server comes back
  connects afresh instead of waiting out gRPC's reconnection backoff.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
import urllib.parse
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...errors import StoreUnavailable

if TYPE_CHECKING:
    from ...config import Settings

#: the loggers pymilvus configures for itself when it is imported, and the names of its handlers
PYMILVUS_LOGGERS = ("pymilvus", "pymilvus.milvus_client", "pymilvus.bulk_writer")
PYMILVUS_HANDLERS = ("console", "no_color_console")
#: pause between two attempts to reach a server that refused the connection
RETRY_PAUSE = 0.25


@dataclass(frozen=True)
class Credentials:
    """What the server may ask for: a token, or a user and a password (secrets: never printed)."""

    token: str = ""
    user: str = ""
    password: str = ""

    def as_kwargs(self) -> dict[str, str]:
        return {k: v for k, v in (("token", self.token), ("user", self.user), ("password", self.password)) if v}


def split_uri(uri: str) -> tuple[str, Credentials]:
    """``uri`` without its ``user:password@`` part, and that part as credentials."""
    parts = urllib.parse.urlsplit(uri)
    user = urllib.parse.unquote(parts.username or "")
    password = urllib.parse.unquote(parts.password or "")
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 address keeps its brackets
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, parts.query, "")), Credentials(
        user=user, password=password
    )


def credentials(settings: Settings) -> tuple[str, Credentials]:
    """The server's URI without credentials, and the credentials: the settings' token or user and
    password, else those written inside ``RAGBOT_MILVUS_URI``."""
    uri, inside = split_uri(settings.milvus_uri)
    token = settings.milvus_token.get_secret_value() if settings.milvus_token else ""
    password = settings.milvus_password.get_secret_value() if settings.milvus_password else ""
    if token:
        return uri, Credentials(token=token)
    if settings.milvus_user or password:
        return uri, Credentials(user=settings.milvus_user or "", password=password)
    return uri, inside


def public_uri(uri: str) -> str:
    """``uri`` as it may be printed: scheme, host and port only."""
    try:
        parts = urllib.parse.urlsplit(uri)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "the configured URI"
    return f"{parts.scheme}://{host}{port}"


def import_pymilvus() -> Any:
    """pymilvus, its logging handed back to the application: on import pymilvus installs handlers of
    its own on its loggers (which print past the application's redaction, in its own format) and sets
    their levels. Its handlers are removed and its loggers pass their records up like any library's;
    on the first import, the levels the application had set are put back."""
    import sys

    first = "pymilvus" not in sys.modules
    levels = [logging.getLogger(name).level for name in PYMILVUS_LOGGERS]
    import pymilvus

    for name, level in zip(PYMILVUS_LOGGERS, levels, strict=True):
        logger = logging.getLogger(name)
        logger.handlers[:] = [h for h in logger.handlers if h.get_name() not in PYMILVUS_HANDLERS]
        logger.propagate = True
        if first:
            logger.setLevel(level)
        elif name != "pymilvus":
            logger.setLevel(logging.NOTSET)  # as the top one says
    return pymilvus


class Connection:
    """One server, reached through :meth:`call`; connects on first use and after any failure."""

    def __init__(self, settings: Settings) -> None:
        self.uri, self.credentials = credentials(settings)
        self.timeout = float(settings.milvus_timeout_seconds)
        self._client: Any = None
        self._lock = threading.Lock()

    def where(self) -> str:
        return public_uri(self.uri)

    def call(self, method: str, *args: Any, seconds: float | None = None, **kwargs: Any) -> Any:
        """``client.<method>(*args, **kwargs)`` with a deadline of ``seconds`` (default: the timeout).

        A server that cannot be reached is tried again, on a new connection, until the timeout has
        passed since the call began; any other failure is one :class:`StoreUnavailable` at once.
        """
        started = time.monotonic()
        deadline = started + self.timeout
        while True:
            client = self._connected(deadline)
            remaining = max(0.5, deadline - time.monotonic())
            limit = float(seconds) if seconds is not None else remaining
            try:
                # A float deadline and retry_times=0: pymilvus makes one attempt (see the module docstring).
                return getattr(client, method)(*args, timeout=limit, retry_times=0, **kwargs)
            except Exception as err:
                if not _is_server_error(err):
                    raise
                unreachable = _unreachable(err)
                if unreachable or _timed_out(err):
                    self._drop(client)
                if not unreachable or time.monotonic() + RETRY_PAUSE >= deadline:
                    raise StoreUnavailable(self._failure(err, started)) from None
                time.sleep(RETRY_PAUSE)

    def query_all(self, collection: str, filter: str, fields: Sequence[str], batch: int = 16_384) -> list[dict]:
        """Every row ``filter`` selects (``pk`` and ``fields``), read in pages of ``batch`` rows."""
        started = time.monotonic()
        pages = self.call("query_iterator", collection, batch_size=batch, filter=filter, output_fields=["pk", *fields])
        rows: list[dict] = []
        try:
            while page := pages.next():
                rows.extend(page)
        except Exception as err:
            if not _is_server_error(err):
                raise
            self._drop(self._client)
            raise StoreUnavailable(self._failure(err, started)) from None
        finally:
            with contextlib.suppress(Exception):  # nothing to release on a server that went away
                pages.close()
        return rows

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            _close(client)

    def _connected(self, deadline: float) -> Any:
        with self._lock:
            if self._client is not None:
                return self._client
            pymilvus = import_pymilvus()
            started = time.monotonic()
            while True:
                try:
                    self._client = pymilvus.MilvusClient(
                        uri=self.uri,
                        timeout=max(0.5, deadline - time.monotonic()),
                        alias=f"ragbot-{uuid.uuid4().hex}",  # not the URI: pymilvus prints this name
                        **self.credentials.as_kwargs(),
                    )
                    return self._client
                except Exception as err:
                    if not _is_server_error(err):
                        raise
                    retry = _unreachable(err) or _timed_out(err)
                    if not retry or time.monotonic() + RETRY_PAUSE >= deadline:
                        raise StoreUnavailable(self._failure(err, started)) from None
                    time.sleep(RETRY_PAUSE)

    def _drop(self, client: Any) -> None:
        with self._lock:
            if self._client is client:
                self._client = None
        _close(client)

    def _failure(self, err: BaseException, started: float) -> str:
        waited = time.monotonic() - started
        reason = message(err)
        if _unreachable(err) or _timed_out(err) or "Fail connecting" in reason:
            return f"the Milvus server at {self.where()} cannot be reached (gave up after {waited:.1f} s: {reason})"
        return f"the Milvus server at {self.where()} failed: {reason}"


def message(err: BaseException) -> str:
    """The server's or gRPC's reason, as one redacted line."""
    from ...redaction import redact

    rpc = _rpc_error(err)
    if rpc is not None:
        details = getattr(rpc, "details", None)
        code = getattr(rpc, "code", None)
        text = (details() if callable(details) else None) or (code().name if callable(code) else type(rpc).__name__)
    else:
        text = getattr(err, "message", None) or str(err) or type(err).__name__
        # pymilvus's "[query] Retry run out of 0 retry times, message=collection not found": the reason
        text = str(text).rpartition("retry times, message=")[2] or text
    return redact(" ".join(str(text).split()))[:200]


def in_filter(field: str, values: Sequence[Any]) -> str:
    """A filter expression ``field in [...]``, strings as escaped literals."""
    return f"{field} in [{', '.join(json.dumps(v, ensure_ascii=False) for v in values)}]"


def _is_server_error(err: BaseException) -> bool:
    import grpc
    from pymilvus.exceptions import MilvusException

    return isinstance(err, (MilvusException, grpc.RpcError))


def _rpc_error(err: BaseException | None) -> Any:
    import grpc

    seen = 0
    while err is not None and seen < 5:
        if isinstance(err, grpc.RpcError):
            return err
        err, seen = err.__cause__, seen + 1
    return None


def _status(err: BaseException) -> Any:
    """The gRPC status of a failed call: the RpcError's, or the one pymilvus wraps in its exception
    (with ``retry_times=0`` it raises ``MilvusException(rpc_error.code, ...)``: the bound method)."""
    import grpc

    rpc = _rpc_error(err)
    code = getattr(rpc if rpc is not None else err, "code", None)
    try:
        status = code() if callable(code) else code
    except Exception:  # not a gRPC status after all
        return None
    return status if isinstance(status, grpc.StatusCode) else None


def _unreachable(err: BaseException) -> bool:
    import grpc
    from pymilvus.exceptions import MilvusException

    if _status(err) == grpc.StatusCode.UNAVAILABLE:
        return True
    # A connection that never became ready (refused, or not a Milvus server at all).
    return isinstance(err, MilvusException) and "Fail connecting to server" in str(getattr(err, "message", ""))


def _timed_out(err: BaseException) -> bool:
    import grpc

    return _status(err) == grpc.StatusCode.DEADLINE_EXCEEDED


def _close(client: Any) -> None:
    with contextlib.suppress(Exception):  # a connection that is already gone has nothing to close
        client.close()
