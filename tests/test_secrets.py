"""No secret reaches any output: log messages, formatted tracebacks, the last uncaught exception,
and third-party libraries' own log lines.

Secrets are the bot token, the LLM API key, the webhook secret, the Milvus token and password,
and credentials inside URLs.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.logs import log_crash, setup_logging
from retrieval import Engine
from retrieval.redaction import Redactor

from .fake_llm import FakeLLM, Reply
from .support import ROOT, fake_encoders, make_settings

TOKEN = "7654321:AAE-secret-token-abcdefghijklmnopqrstu"
LLM_KEY = "sk-live-key-0f9e8d7c6b"
WEBHOOK_SECRET = "hook-secret-5a4b3c"
URL_PASSWORD = "s3cret-pw!"


def all_secrets() -> list[str]:
    return [TOKEN, TOKEN.split(":")[1], LLM_KEY, WEBHOOK_SECRET, URL_PASSWORD, "s3cret-pw%21"]


def leaked(text: str) -> list[str]:
    return [s for s in all_secrets() if s in text]


def secret_settings(tmp_path: Path, llm_url: str = "http://bob:s3cret-pw%21@127.0.0.1:9/v1"):
    return make_settings(
        tmp_path,
        telegram_token=TOKEN,
        llm_url=llm_url,
        llm_api_key=LLM_KEY,
        webhook_secret=WEBHOOK_SECRET,
    )


def test_redaction_by_value_and_by_shape(tmp_path: Path):
    redact = Redactor.for_settings(secret_settings(tmp_path))
    text = (
        f"token {TOKEN} half {TOKEN.split(':')[1]} key {LLM_KEY} hook {WEBHOOK_SECRET} pw {URL_PASSWORD} "
        "url http://bob:s3cret-pw%21@127.0.0.1:9/v1 other 99887766:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB "
        "https://alice:hunter22@example.org/x?api_key=abc123&q=1 Authorization: Bearer eyJhbGciOi.x-y"
    )
    out = redact(text)
    assert not leaked(out), out
    for shaped in ("99887766:BBBB", "alice", "hunter22", "abc123", "eyJhbGciOi"):
        assert shaped not in out
    assert "https://<redacted>@example.org/x?api_key=<redacted>&q=1" in out  # the rest stays readable


@pytest.fixture
def restore_logging():
    """Put the root logger back as it was: a handler left on a closed captured stream breaks later tests."""
    root = logging.getLogger()
    saved, level, factory = root.handlers[:], root.level, logging.getLogRecordFactory()
    yield
    root.handlers[:] = saved
    root.setLevel(level)
    logging.setLogRecordFactory(factory)
    logging.captureWarnings(False)


def test_tracebacks_and_chained_exceptions_are_redacted_in_the_log(
    tmp_path: Path, capfd: pytest.CaptureFixture, restore_logging: None
):
    setup_logging(logging.INFO, Redactor.for_settings(secret_settings(tmp_path)))
    try:
        try:
            raise ValueError(f"the token `{TOKEN}` was rejected; key={LLM_KEY}")
        except ValueError as inner:
            raise RuntimeError(f"posting to http://bob:{URL_PASSWORD}@host/v1 with {WEBHOOK_SECRET}") from inner
    except RuntimeError:
        logging.getLogger("ragbot.test").exception("startup failed for %s", TOKEN)
        logging.getLogger("ragbot.test").warning("stack", stack_info=True, extra={"x": TOKEN})
    err = capfd.readouterr().err
    assert "Traceback" in err and "RuntimeError" in err and "ValueError" in err  # it was logged
    assert not leaked(err), err


def test_the_last_uncaught_exception_is_redacted(tmp_path: Path):
    """``ragbot``'s entry point logs an unexpected crash through the redaction, exit 1."""
    script = (
        "from bot.cli import app, run\n"
        "@app.command()\n"
        "def boom() -> None:\n"
        f"    raise RuntimeError('token {TOKEN} key {LLM_KEY} at http://bob:{URL_PASSWORD}@h/v1')\n"
        "run()\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGBOT_")}
    env.update(RAGBOT_TELEGRAM_TOKEN=TOKEN, RAGBOT_LLM_API_KEY=LLM_KEY, PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-c", script, "boom"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "RuntimeError" in output and "unexpected error" in output
    assert not leaked(output), output


def test_log_crash_installs_redaction_when_logging_was_never_set_up(
    capfd: pytest.CaptureFixture, restore_logging: None
):
    logging.getLogger().handlers[:] = []
    log_crash(RuntimeError(f"rejected {TOKEN}"))
    err = capfd.readouterr().err
    assert "RuntimeError" in err and TOKEN not in err and TOKEN.split(":")[1] not in err


def test_llm_credentials_in_the_url_never_reach_the_log(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    with FakeLLM() as llm:
        url = llm.url.replace("http://", f"http://bob:{URL_PASSWORD.replace('!', '%21')}@")
        engine = Engine(secret_settings(tmp_path, llm_url=url), encoders=fake_encoders())
        engine.index()
        llm.script(Reply(status=401))
        with caplog.at_level("WARNING", logger="retrieval.answers.llm"):
            answer = engine.ask("aide réciproque en cas d'attaque")
    assert not answer.abstained  # the extractive answer stands in
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "401" in logged and "127.0.0.1" in logged  # the failure is logged, with where it went
    assert "bob" not in logged and not leaked(logged), logged
    [failure] = [r.getMessage() for r in caplog.records if r.name == "retrieval.answers.llm"]
    assert "\n" not in failure  # one line (httpx adds a second with a link)
    # The credentials still reach the server, as HTTP basic auth rather than inside a logged URL.
    expected = "Basic " + base64.b64encode(f"bob:{URL_PASSWORD}".encode()).decode()
    assert llm.headers[0]["Authorization"] == expected


def test_the_exit_error_line_hides_a_configured_secret_of_any_shape(tmp_path: Path):
    """A Bot API failing with the token's secret half in its description: serve's last line names
    the failure, but not the secret, though without the bot id before it it has no token shape."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class EchoesThePath(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            secret_half = self.path.partition(":")[2]  # /bot123:half/getMe -> half/getMe
            body = json.dumps({"ok": False, "error_code": 500, "description": f"Internal error at {secret_half}"})
            self.send_response(500)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body.encode())

        do_GET = do_POST

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), EchoesThePath)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    secret = "7654321:hunter2-secret-value-0123456789abcde"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGBOT_")}
    env.update(
        RAGBOT_TELEGRAM_TOKEN=secret,
        RAGBOT_TELEGRAM_API_URL=f"http://127.0.0.1:{server.server_port}",
        RAGBOT_TELEGRAM_CONNECT_ATTEMPTS="2",
        RAGBOT_TELEGRAM_CONNECT_RETRY_SECONDS="0.05",
        PYTHONPATH=str(ROOT),
    )
    try:
        result = subprocess.run(
            [sys.executable, "-m", "bot", "serve"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
        )
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode == 1, result.stderr
    last = result.stderr.splitlines()[-1]
    assert last.startswith("error: ") and "unreachable after 2 attempts" in last, result.stderr
    assert "Internal error at <redacted>/getMe" in last
    assert secret.split(":")[1] not in result.stdout + result.stderr


# --- Milvus credentials -------------------------------------------------------------------------

MILVUS_USER = "zq-operator"
MILVUS_PASSWORD = "S3cret-milvus-pw"
MILVUS_TOKEN = f"{MILVUS_USER}:T0ken-milvus-secret"


def milvus_secrets() -> list[str]:
    """What must never be printed: the password, the token (and its secret half), an MD5 of the
    token (what pymilvus names a token's connection after), and the user name itself."""
    md5 = hashlib.md5(MILVUS_TOKEN.encode()).hexdigest()
    return [MILVUS_PASSWORD, MILVUS_TOKEN, MILVUS_TOKEN.split(":")[1], md5, MILVUS_USER]


@contextlib.contextmanager
def not_milvus() -> Iterator[int]:
    """A real TCP listener on 127.0.0.1 that is not Milvus: it reads what comes and answers HTTP/1.1 400."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1)
                with contextlib.suppress(OSError):
                    conn.recv(4096)
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        server.close()


@pytest.mark.parametrize(
    ("listener", "credentials", "command", "verbose"),
    [
        ("closed port", "in the URI", "index", False),
        ("closed port", "token", "stats", True),
        ("not Milvus", "in the URI", "stats", True),
        ("not Milvus", "user and password", "index", False),
        ("not Milvus", "token", "index", True),
    ],
)
def test_milvus_credentials_never_reach_the_output(
    tmp_path: Path, listener: str, credentials: str, command: str, verbose: bool
):
    """pymilvus logs a failed connection with its name, made of the URI (``user:password@`` included)
    and the user name or an MD5 of the token, through a handler of its own. Whatever the server is
    (a closed port, something that is not Milvus), `ragbot index` and `ragbot stats` (the Docker
    health check) print one line and exit 9, and no credential appears, with -v or without."""
    from .milvus_server import free_port

    with contextlib.ExitStack() as stack:
        port = free_port() if listener == "closed port" else stack.enter_context(not_milvus())
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAGBOT_")}
        env.update(
            PYTHONPATH=str(ROOT),
            RAGBOT_STORE="milvus",
            RAGBOT_DATA_DIR=str(tmp_path / "data"),
            RAGBOT_MILVUS_TIMEOUT_SECONDS="2",
            RAGBOT_MILVUS_URI=f"http://127.0.0.1:{port}",
        )
        if credentials == "in the URI":
            env["RAGBOT_MILVUS_URI"] = f"http://{MILVUS_USER}:{MILVUS_PASSWORD}@127.0.0.1:{port}"
        elif credentials == "token":
            env["RAGBOT_MILVUS_TOKEN"] = MILVUS_TOKEN
        else:
            env.update(RAGBOT_MILVUS_USER=MILVUS_USER, RAGBOT_MILVUS_PASSWORD=MILVUS_PASSWORD)
        args = [sys.executable, "-m", "bot", *(["-v"] if verbose else []), command]
        result = subprocess.run(args, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode == 9, output
    assert "cannot be reached" in result.stderr and "127.0.0.1" in result.stderr, output
    assert [s for s in milvus_secrets() if s in output] == [], output
