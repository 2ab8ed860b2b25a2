"""No secret reaches any output: log messages, formatted tracebacks, the last uncaught exception.

Secrets are the bot token, the LLM API key, the webhook secret and credentials inside URLs.
"""

from __future__ import annotations

import base64
import logging
import os
import subprocess
import sys
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
    saved, level = root.handlers[:], root.level
    yield
    root.handlers[:] = saved
    root.setLevel(level)
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
