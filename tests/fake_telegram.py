"""A fake Telegram Bot API HTTP server for tests: the real PTB ``Application`` polls it.

The server is stdlib only (``ThreadingHTTPServer`` in a daemon thread) and listens on
127.0.0.1 on a free port. Point PTB at it with::

    app = (ApplicationBuilder().token(fake.token)
           .base_url(f"{fake.url}/bot").base_file_url(f"{fake.url}/file/bot").build())

It answers like Telegram (``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": N,
"description": ...}``) and enforces the rules a bot most often breaks: the 4096 UTF-16 unit
text limit counted after entity parsing, Telegram's HTML parse-mode grammar (a port of
tdlib's ``parse_html``, made stricter where the Bot API docs are: every ``&`` must start
``&lt;``/``&gt;``/``&amp;``/``&quot;`` or a numeric reference, and only documented
attributes are allowed), 1-64 byte ``callback_data``, edits of unknown or unmodified
messages, and callback queries answered twice. Flood control happens only on demand
(``fail_next``) so tests never depend on timing.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import itertools
import json
import mimetypes
import re
import socket
import socketserver
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_TOKEN = "123456:TEST-token-abcdefghijklmnopqrstuvwxyz0123"
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64
DOWNLOAD_LIMIT = 20 * 1024 * 1024

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly "
    "the same as a content and reply markup of the current message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# How form values (always strings on the wire) are decoded back into Telegram's types.
_JSON_PARAMS = _words(
    "reply_markup reply_parameters link_preview_options entities caption_entities allowed_updates "
    "commands scope media results reaction "
)
_INT_PARAMS = _words(
    "chat_id message_id offset limit user_id reply_to_message_id message_thread_id from_chat_id "
    "cache_time max_connections "
)
_FLOAT_PARAMS = frozenset({"timeout"})
_BOOL_PARAMS = _words(
    "disable_notification protect_content show_alert drop_pending_updates allow_sending_without_reply "
    "disable_web_page_preview disable_content_type_detection allow_paid_broadcast has_spoiler "
)
_CHAT_ACTIONS = _words(
    "typing upload_photo record_video upload_video record_voice upload_voice upload_document "
    "choose_sticker find_location record_video_note upload_video_note "
)
_BUTTON_ACTIONS = _words(
    "url callback_data web_app login_url switch_inline_query switch_inline_query_current_chat "
    "switch_inline_query_chosen_chat copy_text callback_game pay "
)
# Update types Telegram leaves out unless allowed_updates names them.
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_MESSAGE_KEYS = ("message", "edited_message", "channel_post", "edited_channel_post", "business_message")
# tdlib's matchers for the entities Telegram adds to users' messages by itself.
_AUTO_ENTITIES = (
    ("bot_command", re.compile(r"(?<![\w/<>])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/<>])")),
    ("mention", re.compile(r"(?<!\w)@[A-Za-z0-9_]{2,32}(?!\w)")),
)
_BOT_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")


@dataclass(frozen=True)
class Call:
    """One request the fake received and how it answered."""

    method: str
    params: dict
    at: float
    ok: bool
    error: str | None
    result: Any


class ApiError(Exception):
    """An error answer: HTTP ``status`` and the Bot API ``description``."""

    def __init__(self, status: int, description: str, parameters: dict | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


def _bad(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}")


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, as Telegram counts it."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def auto_entities(text: str) -> list[dict]:
    """The bot_command and mention entities Telegram detects in a user's text, sorted by offset."""
    found = [
        {"type": kind, "offset": utf16_len(text[: m.start()]), "length": utf16_len(m.group(0))}
        for kind, pattern in _AUTO_ENTITIES
        for m in pattern.finditer(text)
    ]
    return sorted(found, key=lambda e: e["offset"])


# --------------------------------------------------------------------------------------------
# HTML parse mode: a port of tdlib's parse_html (td/telegram/MessageEntity.cpp), stricter
# about "&" and attributes. Error texts are tdlib's where tdlib has the rule.
# --------------------------------------------------------------------------------------------


class HtmlParseError(ValueError):
    """The text is not valid Telegram HTML; the message is what follows "can't parse entities: "."""


_HTML_TAGS = _words("a b strong i em s strike del u ins tg-spoiler tg-emoji span pre code blockquote ")
_HTML_ATTRS: dict[str, frozenset[str]] = {
    "a": frozenset({"href"}),
    "code": frozenset({"class"}),
    "span": frozenset({"class"}),
    "tg-emoji": frozenset({"emoji-id"}),
    "blockquote": frozenset({"expandable"}),
}
_SIMPLE_ENTITY = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HTML_ENTITY = re.compile(r"&(?:#x([0-9a-fA-F]{1,6})|#([0-9]{1,7})|([a-zA-Z]+));")
_SPACES = " \t\r\n\v\f"


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8", "surrogatepass"))


def _decode_entity(text: str, i: int) -> str | None:
    """The character a supported ``;``-terminated entity at ``text[i]`` stands for, else None."""
    m = _HTML_ENTITY.match(text, i)
    if not m:
        return None
    if m.group(3) is not None:
        return _NAMED_ENTITIES.get(m.group(3))
    code = int(m.group(1), 16) if m.group(1) is not None else int(m.group(2))
    if code == 0 or code >= 0x10FFFF:
        return None
    return chr(code)


def _entity_at(text: str, i: int) -> tuple[str, int]:
    """Decode the entity at ``text[i] == "&"``: (character, index after it); raise if unsupported."""
    ch = _decode_entity(text, i)
    if ch is None:
        snippet = re.match(r"&[#\w]{0,10};?", text[i:]).group(0)  # type: ignore[union-attr]
        raise HtmlParseError(
            f'Unsupported HTML entity "{snippet}" at byte offset {_byte_offset(text, i)}; '
            'a bare "&" must be written "&amp;"'
        )
    return ch, _HTML_ENTITY.match(text, i).end()  # type: ignore[union-attr]


@dataclass
class _OpenTag:
    name: str
    attrs: dict[str, str]
    offset: int  # UTF-16 offset in the visible text where the tag's content starts
    begin: int  # byte offset of "<" in the source, for messages


def parse_html(text: str) -> tuple[str, list[dict]]:
    """Parse Telegram HTML into (visible text, MessageEntity dicts); raise HtmlParseError."""
    out: list[str] = []
    u16 = 0
    entities: list[dict] = []
    stack: list[_OpenTag] = []
    saw_surrogate = False
    n = len(text)

    def at(k: int) -> str:
        return text[k] if k < n else ""

    def is_space(ch: str) -> bool:  # tdlib treats the terminating NUL as a space
        return ch == "" or ch in _SPACES

    i = 0
    while i < n:
        c = text[i]
        if c == "&":
            ch, i = _entity_at(text, i)
            saw_surrogate |= 0xD800 <= ord(ch) <= 0xDFFF
            out.append(ch)
            u16 += utf16_len(ch)
            continue
        if c != "<":
            out.append(c)
            u16 += 2 if ord(c) > 0xFFFF else 1
            i += 1
            continue

        begin = i
        boff = _byte_offset(text, begin)
        i += 1
        if at(i) != "/":
            while not is_space(at(i)) and at(i) != ">":
                i += 1
            if at(i) == "":
                raise HtmlParseError(f"Unclosed start tag at byte offset {boff}")
            tag = text[begin + 1 : i].lower()
            if tag not in _HTML_TAGS:
                raise HtmlParseError(f'Unsupported start tag "{tag}" at byte offset {boff}')
            attrs: dict[str, str] = {}
            while at(i) != ">":
                while at(i) != "" and at(i) in _SPACES:
                    i += 1
                if at(i) == ">":
                    break
                name_start = i
                while not is_space(at(i)) and at(i) not in "=>":
                    i += 1
                attr = text[name_start:i]
                if not attr:
                    raise HtmlParseError(f'Empty attribute name in the tag "{tag}" at byte offset {boff}')
                while at(i) != "" and at(i) in _SPACES:
                    i += 1
                if at(i) != "=":
                    if tag == "blockquote" and attr == "expandable":
                        attrs[attr] = ""
                        continue
                    raise HtmlParseError(
                        f'Expected equal sign in declaration of an attribute of the tag "{tag}" at byte offset {boff}'
                    )
                i += 1
                while at(i) != "" and at(i) in _SPACES:
                    i += 1
                if at(i) == "":
                    raise HtmlParseError(f'Unclosed start tag "{tag}" at byte offset {boff}')
                if at(i) not in "'\"":
                    token_start = i
                    while at(i) != "" and ((at(i).isascii() and at(i).isalnum()) or at(i) in ".-"):
                        i += 1
                    value = text[token_start:i].lower()
                    if not is_space(at(i)) and at(i) != ">":
                        raise HtmlParseError(
                            f"Unexpected end of name token at byte offset {_byte_offset(text, token_start)}"
                        )
                else:
                    quote = at(i)
                    i += 1
                    chars: list[str] = []
                    while at(i) != quote and at(i) != "":
                        if at(i) == "&":
                            ch, i = _entity_at(text, i)
                            chars.append(ch)
                        else:
                            chars.append(at(i))
                            i += 1
                    if at(i) == quote:
                        i += 1
                    value = "".join(chars)
                if at(i) == "":
                    raise HtmlParseError(f"Unclosed start tag at byte offset {boff}")
                attrs[attr] = value
            i += 1  # past ">"
            _check_attrs(tag, attrs, boff)
            stack.append(_OpenTag(tag, attrs, u16, boff))
            continue

        # an end tag
        if not stack:
            raise HtmlParseError(f"Unexpected end tag at byte offset {boff}")
        while not is_space(at(i)) and at(i) != ">":
            i += 1
        end_name = text[begin + 2 : i].lower()
        while at(i) != "" and at(i) in _SPACES:
            i += 1
        if at(i) != ">":
            raise HtmlParseError(f"Unclosed end tag at byte offset {boff}")
        i += 1
        top = stack[-1]
        if end_name and end_name != top.name:
            raise HtmlParseError(
                f'Unmatched end tag at byte offset {boff}, expected "</{top.name}>", found "</{end_name}>"'
            )
        stack.pop()
        if u16 > top.offset:
            _close_entity(top, u16 - top.offset, entities)

    if stack:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    visible = "".join(out)
    if saw_surrogate:
        try:
            visible.encode("utf-8")
        except UnicodeEncodeError:
            raise HtmlParseError(
                "Text contains invalid Unicode characters after decoding HTML entities, "
                "check for unmatched surrogate code units"
            ) from None
    for entity in entities:
        if entity["type"] == "code":
            entity.pop("language", None)  # only a <pre> around the <code> keeps the language
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return visible, entities


def _check_attrs(tag: str, attrs: dict[str, str], boff: int) -> None:
    allowed = _HTML_ATTRS.get(tag, frozenset())
    for name in attrs:
        if name not in allowed:
            raise HtmlParseError(f'Unsupported attribute "{name}" in the tag "{tag}" at byte offset {boff}')
    if tag == "a" and not attrs.get("href"):
        raise HtmlParseError(f'Tag "a" must have a non-empty attribute "href" at byte offset {boff}')
    if tag == "span" and attrs.get("class") != "tg-spoiler":
        raise HtmlParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {boff}')
    if tag == "code" and "class" in attrs and not attrs["class"].startswith("language-"):
        raise HtmlParseError(f'Attribute "class" of the tag "code" must start with "language-" at byte offset {boff}')
    if tag == "tg-emoji":
        emoji_id = attrs.get("emoji-id", "")
        if not emoji_id.isdigit() or int(emoji_id) == 0:
            raise HtmlParseError("Invalid custom emoji identifier specified")


def _close_entity(tag: _OpenTag, length: int, entities: list[dict]) -> None:
    """Append the MessageEntity a closed tag produces (tdlib's rules, incl. pre+code merging)."""
    offset = tag.offset
    last = entities[-1] if entities else None
    same_span = last is not None and last["offset"] == offset and last["length"] == length
    if tag.name in _SIMPLE_ENTITY:
        entities.append({"type": _SIMPLE_ENTITY[tag.name], "offset": offset, "length": length})
    elif tag.name == "tg-emoji":
        entities.append(
            {"type": "custom_emoji", "offset": offset, "length": length, "custom_emoji_id": tag.attrs["emoji-id"]}
        )
    elif tag.name == "a":
        entities.append({"type": "text_link", "offset": offset, "length": length, "url": tag.attrs["href"]})
    elif tag.name == "blockquote":
        kind = "expandable_blockquote" if "expandable" in tag.attrs else "blockquote"
        entities.append({"type": kind, "offset": offset, "length": length})
    elif tag.name == "pre":
        if same_span and last is not None and last["type"] == "code" and last.get("language"):
            last["type"] = "pre"
        else:
            entities.append({"type": "pre", "offset": offset, "length": length})
    else:  # code
        language = tag.attrs.get("class", "")[len("language-") :]
        if same_span and last is not None and last["type"] == "pre" and language:
            last["language"] = language
        else:
            entity = {"type": "code", "offset": offset, "length": length}
            if language:
                entity["language"] = language  # dropped at the end unless a <pre> claims it
            entities.append(entity)


def format_text(text: str, parse_mode: str | None) -> tuple[str, list[dict]]:
    """Visible text and entities of ``text`` under ``parse_mode``; raise ApiError if unparsable."""
    mode = (parse_mode or "").lower()
    if mode == "html":
        try:
            return parse_html(text)
        except HtmlParseError as exc:
            raise _bad(f"can't parse entities: {exc}") from None
    if mode in ("", "markdown", "markdownv2"):
        return text, []  # Markdown is accepted as-is (not validated)
    raise _bad("unsupported parse_mode")


def _trim(visible: str, entities: list[dict]) -> tuple[str, list[dict]]:
    """Strip leading/trailing whitespace as Telegram does, shifting and clipping entities."""
    text = visible.strip(_SPACES)
    lead = utf16_len(visible[: len(visible) - len(visible.lstrip(_SPACES))])
    total = utf16_len(text)
    kept = []
    for e in entities:
        start = max(e["offset"] - lead, 0)
        end = min(e["offset"] + e["length"] - lead, total)
        if end > start:
            kept.append({**e, "offset": start, "length": end - start})
    return text, kept


def _check_markup(markup: Any) -> None:
    """Reject malformed reply markup and invalid inline buttons."""
    if markup is None:
        return
    if not isinstance(markup, dict):
        raise _bad("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in markup:
        return
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise _bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise _bad("can't parse inline keyboard button: InlineKeyboardButton must be an Object with a text")
            if "callback_data" in button:
                data = button["callback_data"]
                if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= CALLBACK_DATA_LIMIT:
                    raise _bad("BUTTON_DATA_INVALID")
            if not _BUTTON_ACTIONS & button.keys():
                raise _bad("text buttons are unallowed in the inline keyboard")


# --------------------------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------------------------


def _form_unquote(value: str) -> str:
    """Undo httpx's HTML5 form escaping of multipart names ("%22" for a quote, "\\\\" for a backslash)."""
    return re.sub(
        r"\\\\|%(22|[01][0-9A-F])",
        lambda m: "\\" if m.group(1) is None else chr(int(m.group(1), 16)),
        value,
    )


def _parse_multipart(body: bytes, content_type: str) -> tuple[dict[str, str], dict[str, tuple[str, str, bytes]]]:
    """Fields and files of a multipart/form-data body."""
    m = re.search(r'boundary="?([^";]+)"?', content_type)
    if not m:
        raise _bad("can't parse multipart/form-data: no boundary")
    delimiter = b"--" + m.group(1).encode("latin-1")
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, str, bytes]] = {}
    for part in body.split(delimiter)[1:]:
        if part.startswith(b"--"):
            break
        part = part.removeprefix(b"\r\n")
        head, sep, content = part.partition(b"\r\n\r\n")
        if not sep:
            continue
        content = content.removesuffix(b"\r\n")
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        name_m = re.search(r'(?:^|;)\s*name="((?:[^"\\]|\\.)*)"', disposition)
        if not name_m:
            continue
        name = _form_unquote(name_m.group(1))
        file_m = re.search(r'filename="((?:[^"\\]|\\.)*)"', disposition)
        if file_m:
            filename = _form_unquote(file_m.group(1))
            files[name] = (filename, headers.get("content-type", "application/octet-stream"), content)
        else:
            fields[name] = content.decode("utf-8")
    return fields, files


def _decode_params(raw: dict[str, Any]) -> dict[str, Any]:
    """Turn wire values (strings, JSON strings) into Telegram's types."""
    params: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, str) and key in _JSON_PARAMS:
            try:
                value = json.loads(value)
            except ValueError:
                if key == "reply_markup":
                    raise _bad("can't parse reply keyboard markup JSON object") from None
                raise _bad(f"can't parse {key} JSON object") from None
        elif isinstance(value, str) and key in _INT_PARAMS:
            with contextlib.suppress(ValueError):
                value = int(value)
        elif isinstance(value, str) and key in _FLOAT_PARAMS:
            try:
                value = float(value)
            except ValueError:
                raise _bad(f"invalid {key} specified") from None
            if value.is_integer():
                value = int(value)
        elif isinstance(value, str) and key in _BOOL_PARAMS:
            value = value.lower() in ("true", "1")
        params[key] = value
    return params


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, fake: FakeBotAPI) -> None:
        self.fake = fake
        self.connections: set[socket.socket] = set()
        self.active = 0
        self.conn_lock = threading.Lock()
        super().__init__(("127.0.0.1", fake.port), _Handler)

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)  # skip HTTPServer's reverse DNS lookup
        self.server_name = "127.0.0.1"
        self.server_port = self.server_address[1]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # small JSON answers must not wait for delayed ACKs
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def setup(self) -> None:
        super().setup()
        with self.server.conn_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.conn_lock:
                self.server.connections.discard(self.connection)

    def do_POST(self) -> None:
        self._serve()

    def do_GET(self) -> None:
        self._serve()

    def _serve(self) -> None:
        with self.server.conn_lock:
            self.server.active += 1
        try:
            body = self._read_body()
            split = urllib.parse.urlsplit(self.path)
            path = urllib.parse.unquote(split.path)
            if self.command == "GET" and path.startswith("/file/bot"):
                rest = path[len("/file/bot") :]
                stall = self.server.fake._stall_for(rest)
                if stall is not None:
                    self._stall(stall)
                    return
                status, data, ctype = self.server.fake._download(rest)
                self._send(status, data, ctype)
                return
            raw_answer = self.server.fake._take_raw(path)
            if raw_answer is not None:
                self._send(*raw_answer)
                return
            status, payload = self.server.fake._dispatch(path, self._params(split.query, body))
            self._send(status, json.dumps(payload, ensure_ascii=False).encode("utf-8"), "application/json")
        finally:
            with self.server.conn_lock:
                self.server.active -= 1

    def _stall(self, mode: str) -> None:
        """A file server that never finishes: ``hang`` sends nothing, ``drip`` a byte every 50 ms."""
        fake = self.server.fake
        if mode == "drip":
            try:
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(10**6))
                self.end_headers()
                while not fake._wait_stopping(0.05):
                    self.wfile.write(b"a")
                    self.wfile.flush()
            except OSError:
                pass
        else:
            while not fake._wait_stopping(0.05):
                pass
        self.close_connection = True

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _params(self, query: str, body: bytes) -> tuple[dict[str, Any], dict[str, tuple[str, str, bytes]]] | ApiError:
        """Raw parameters and uploaded files, or the error to answer with."""
        ctype = self.headers.get("Content-Type", "")
        raw: dict[str, Any] = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
        files: dict[str, tuple[str, str, bytes]] = {}
        try:
            if ctype.startswith("application/json") and body:
                decoded = json.loads(body)
                if not isinstance(decoded, dict):
                    return _bad("JSON object expected")
                raw.update(decoded)
            elif ctype.startswith("multipart/form-data"):
                fields, files = _parse_multipart(body, ctype)
                raw.update(fields)
            elif body:
                raw.update(urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        except ApiError as exc:
            return exc
        except ValueError:
            return _bad("can't parse request body")
        return raw, files

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self._headers_buffer.append(b"\r\n" + body)  # headers and body in one write
            self.flush_headers()
        except OSError:
            self.close_connection = True


# --------------------------------------------------------------------------------------------
# The fake itself
# --------------------------------------------------------------------------------------------


@dataclass
class _File:
    file_id: str
    unique_id: str
    name: str
    mime_type: str
    content: bytes
    path: str
    declare_size: bool = True  # file_size is optional in Telegram's Document and File objects
    stall: str | None = None  # "hang" or "drip": the download never completes (see _Handler._stall)

    def document(self) -> dict:
        document = {
            "file_id": self.file_id,
            "file_unique_id": self.unique_id,
            "file_name": self.name,
            "mime_type": self.mime_type,
        }
        if self.declare_size:
            document["file_size"] = len(self.content)
        return document


class FakeBotAPI:
    """An in-process Telegram Bot API server; see the module docstring."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        bot_username: str = "ragbot_test_bot",
        bot_id: int = 999000111,
        port: int = 0,
    ) -> None:
        self.token = token
        self.port = port  # 0: any free port
        self.bot_username = bot_username
        self.bot_id = bot_id
        self.url = ""
        self.calls: list[Call] = []
        self.update_pushed_at: dict[int, float] = {}

        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False

        self._next_update_id = 1
        self._pending: list[dict] = []
        self._allowed_updates: list[str] = []
        self._poll_generation = 0
        self._polls_waiting = 0
        self._webhook_url = ""

        self._chats: dict[int, dict] = {}
        self._last_message_id: dict[int, int] = {}
        self._messages: dict[tuple[int, int], dict] = {}  # current state of every known message
        self._bot_messages: set[tuple[int, int]] = set()
        self._sent: list[dict] = []
        self._sent_documents: list[dict] = []

        self._callback_ids = itertools.count(1)
        self._issued_callbacks: set[str] = set()
        self._answered_callbacks: set[str] = set()
        self._failures: dict[str, deque[ApiError]] = {}
        self._raw_failures: dict[str, deque[tuple[int, bytes, str]]] = {}
        self._files: dict[str, _File] = {}
        self._files_by_path: dict[str, _File] = {}
        self._upload_ids = itertools.count(1)
        self._commands: dict[tuple[str, str], list[dict]] = {}
        self._descriptions: dict[tuple[str, str], str] = {}

        self._methods: dict[str, Callable[[dict, dict], Any]] = {
            "getMe": self._get_me,
            "logOut": self._true,
            "close": self._true,
            "deleteWebhook": self._delete_webhook,
            "setWebhook": self._set_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "getUpdates": self._get_updates,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "sendChatAction": self._send_chat_action,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setMyDescription": self._set_description("description"),
            "getMyDescription": self._get_description("description"),
            "setMyShortDescription": self._set_description("short_description"),
            "getMyShortDescription": self._get_description("short_description"),
            "sendDocument": self._send_document,
            "getFile": self._get_file,
        }
        self._canonical = {name.lower(): name for name in self._methods}

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> FakeBotAPI:
        """Bind 127.0.0.1 on a free port and serve in a daemon thread."""
        if self._server is not None:
            raise RuntimeError("FakeBotAPI already started")
        self._server = _Server(self)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, name="fake-telegram", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release long polls, stop serving and close every connection."""
        server = self._server
        if server is None or self._stopping:
            return
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        server.shutdown()
        deadline = time.monotonic() + 2.0
        while server.active and time.monotonic() < deadline:  # let released long polls answer
            time.sleep(0.005)
        with server.conn_lock:
            connections = list(server.connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=2.0)

    def __enter__(self) -> FakeBotAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> FakeBotAPI:
        return self.start()

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.stop)

    # ---------------------------------------------------------------- feeding updates

    def push_update(self, update: dict) -> int:
        """Queue a raw update (its ``update_id`` is assigned here); return the update_id."""
        update = copy.deepcopy(update)
        with self._cond:
            update_id = self._next_update_id
            self._next_update_id += 1
            update["update_id"] = update_id
            self._register_update(update)
            self._pending.append(update)
            self.update_pushed_at[update_id] = time.monotonic()
            self._cond.notify_all()
        return update_id

    def push_message(
        self,
        text: str,
        *,
        user_id: int = 1001,
        chat_id: int | None = None,
        chat_type: str = "private",
        first_name: str = "Ann",
        language_code: str | None = "en",
        username: str | None = None,
        reply_to_message: dict | None = None,
        entities: list[dict] | None = None,
        document: dict | None = None,
        caption: str | None = None,
    ) -> int:
        """Queue a user's message; return the update_id.

        Unless ``entities`` is given, bot_command ("/cmd", "/cmd@bot", anywhere in the text) and
        mention ("@name") entities are added as Telegram does.

        With ``document``, the message carries the document and ``caption`` (or ``text`` when
        ``caption`` is None) as its caption instead of a text.
        """
        user = self._user(user_id, first_name, language_code, username)
        if chat_id is None:
            chat_id = user_id if chat_type == "private" else -1_000_000_000_000 - user_id
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = first_name
            if username:
                chat["username"] = username
        else:
            chat["title"] = "Test group"
        with self._lock:
            message_id = self._last_message_id.get(chat_id, 0) + 1
            self._last_message_id[chat_id] = message_id
        message: dict[str, Any] = {"message_id": message_id, "from": user, "chat": chat, "date": int(time.time())}
        body = text
        if document is not None:
            message["document"] = document
            body = caption if caption is not None else text
            if body:
                message["caption"] = body
        else:
            message["text"] = text
        if entities is None:
            entities = auto_entities(body or "")
        if entities:
            message["caption_entities" if document is not None else "entities"] = entities
        if reply_to_message is not None:
            message["reply_to_message"] = {k: v for k, v in reply_to_message.items() if k != "reply_to_message"}
        return self.push_update({"message": message})

    def push_callback(self, data: str, *, message: dict, user_id: int = 1001, language_code: str | None = "en") -> int:
        """Queue a press of an inline button with ``data`` on ``message``; return the update_id."""
        query_id = f"cbq-{next(self._callback_ids)}"
        chat_id = message.get("chat", {}).get("id", 0)
        query = {
            "id": query_id,
            "from": self._user(user_id, "Ann", language_code, None),
            "message": message,
            "chat_instance": str(abs(chat_id) * 7919 % 10**12 + 10**12),
            "data": data,
        }
        return self.push_update({"callback_query": query})

    def add_file(
        self, file_id: str, name: str, content: bytes, *, declare_size: bool = True, stall: str | None = None
    ) -> dict:
        """Register a downloadable file; return a Telegram Document dict for ``push_message(document=...)``.

        With ``declare_size=False`` neither the Document nor getFile's File carries ``file_size``
        (both fields are optional in the Bot API), so only the download shows how big it is.
        With ``stall="hang"`` the file server never answers its download; with ``stall="drip"`` it
        answers and then sends one byte every 50 ms, never finishing (until the fake stops).
        """
        if stall not in (None, "hang", "drip"):
            raise ValueError(f"stall must be None, 'hang' or 'drip', not {stall!r}")
        with self._lock:
            path = f"documents/{name}"
            if path in self._files_by_path and self._files_by_path[path].file_id != file_id:
                path = f"documents/{len(self._files_by_path)}_{name}"
            mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
            unique = "AgAD" + hashlib.sha1(file_id.encode()).hexdigest()[:12]
            stored = _File(file_id, unique, name, mime, bytes(content), path, declare_size, stall)
            self._files[file_id] = stored
            self._files_by_path[path] = stored
            return stored.document()

    # ---------------------------------------------------------------- failure injection

    def fail_next(self, method: str, *, times: int = 1, retry_after: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with 429 Too Many Requests."""
        for _ in range(times):
            self._inject(
                method,
                ApiError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}),
            )

    def fail_next_with(self, method: str, *, status: int, description: str, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with this error."""
        for _ in range(times):
            self._inject(method, ApiError(status, description))

    def fail_next_raw(self, method: str, *, status: int, body: bytes, content_type: str, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with this raw HTTP answer (e.g. a proxy's HTML
        502 page, or a 200 that is not JSON), as a broken server or proxy in front of the Bot API would."""
        with self._lock:
            queue = self._raw_failures.setdefault(method.lower(), deque())
            queue.extend([(status, bytes(body), content_type)] * times)

    def _take_raw(self, path: str) -> tuple[int, bytes, str] | None:
        method = path.rpartition("/")[2].lower()
        with self._lock:
            queue = self._raw_failures.get(method)
            if not queue:
                return None
            status, body, ctype = queue.popleft()
            name = self._canonical.get(method, method)
            self._record(Call(name, {}, time.monotonic(), False, f"raw {status} answer", None))
        return status, body, ctype

    def _stall_for(self, rest: str) -> str | None:
        token, _, file_path = rest.partition("/")
        with self._lock:
            stored = self._files_by_path.get(file_path) if token == self.token else None
            if stored is None or stored.stall is None:
                return None
            self._record(Call("downloadFile", {"file_path": file_path}, time.monotonic(), False, "stalled", None))
            return stored.stall

    def _wait_stopping(self, seconds: float) -> bool:
        """Wait up to ``seconds`` or until the fake stops; True once it is stopping."""
        with self._cond:
            if not self._stopping:
                self._cond.wait(seconds)
            return self._stopping

    def _inject(self, method: str, error: ApiError) -> None:
        with self._lock:
            self._failures.setdefault(method.lower(), deque()).append(error)

    # ---------------------------------------------------------------- inspection

    def calls_to(self, method: str) -> list[Call]:
        """Every call of ``method`` (case-insensitive), in order."""
        with self._lock:
            return [c for c in self.calls if c.method.lower() == method.lower()]

    def sent_messages(self, chat_id: int | None = None) -> list[dict]:
        """Messages returned for successful sendMessage calls (as sent, before edits), in order."""
        with self._lock:
            return [m for m in self._sent if chat_id is None or m["chat"]["id"] == chat_id]

    def sent_documents(self, chat_id: int | None = None) -> list[dict]:
        """Messages returned for successful sendDocument calls, in order."""
        with self._lock:
            return [m for m in self._sent_documents if chat_id is None or m["chat"]["id"] == chat_id]

    def current_message(self, chat_id: int, message_id: int) -> dict | None:
        """The message as it stands now (after edits), or None if unknown or deleted."""
        with self._lock:
            message = self._messages.get((chat_id, message_id))
            return copy.deepcopy(message) if message is not None else None

    def edits(self) -> list[Call]:
        """Successful editMessageText / editMessageReplyMarkup calls."""
        with self._lock:
            return [c for c in self.calls if c.ok and c.method in ("editMessageText", "editMessageReplyMarkup")]

    def rejected(self) -> list[Call]:
        """Calls answered with ok=false, for any reason."""
        with self._lock:
            return [c for c in self.calls if not c.ok]

    def pending_updates(self) -> list[dict]:
        """Updates not yet confirmed by a getUpdates offset."""
        with self._lock:
            return copy.deepcopy(self._pending)

    @property
    def long_polls_waiting(self) -> int:
        """How many getUpdates requests are blocked waiting for updates right now."""
        with self._lock:
            return self._polls_waiting

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 30.0) -> None:
        """Poll ``predicate`` every 10 ms; AssertionError with recent calls on timeout."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() >= deadline:
                raise AssertionError(f"condition not met within {timeout}s\n{self.summary()}")
            await asyncio.sleep(0.01)

    async def wait_for_messages(self, count: int, chat_id: int | None = None, timeout: float = 30.0) -> list[dict]:
        """Wait until at least ``count`` messages were sent (to ``chat_id``); return them all."""
        try:
            await self.wait_for(lambda: len(self.sent_messages(chat_id)) >= count, timeout)
        except AssertionError as exc:
            got = len(self.sent_messages(chat_id))
            raise AssertionError(f"expected {count} sent messages (chat {chat_id}), got {got}; {exc}") from None
        return self.sent_messages(chat_id)

    def summary(self, last: int = 20) -> str:
        """Readable digest of recent calls (getUpdates only counted) for failure messages."""
        with self._lock:
            polls = sum(1 for c in self.calls if c.method == "getUpdates")
            others = [c for c in self.calls if c.method != "getUpdates"]
            lines = [f"{len(self.calls)} calls ({polls} getUpdates); {len(self._pending)} unconfirmed updates"]
            for c in others[-last:]:
                state = "ok" if c.ok else f"REJECTED {c.error!r}"
                params = json.dumps(c.params, ensure_ascii=False, default=repr)
                if len(params) > 300:
                    params = params[:300] + "..."
                lines.append(f"  {c.method} {state} {params}")
            return "\n".join(lines)

    # ---------------------------------------------------------------- request handling

    def _dispatch(
        self, path: str, parsed: tuple[dict[str, Any], dict[str, tuple[str, str, bytes]]] | ApiError
    ) -> tuple[int, dict]:
        """Answer one Bot API request at ``path``; record it."""
        at = time.monotonic()
        if not path.startswith("/bot"):
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        token, _, method = path[len("/bot") :].partition("/")
        raw, files = parsed if not isinstance(parsed, ApiError) else ({}, {})
        name = self._canonical.get(method.lower(), method)
        params: dict[str, Any] = dict(raw)
        decode_error: ApiError | None = None
        try:
            params = _decode_params(raw)
        except ApiError as exc:
            decode_error = exc
        try:
            if isinstance(parsed, ApiError):
                raise parsed
            if token != self.token:
                raise ApiError(401, "Unauthorized")
            if name not in self._methods:
                raise ApiError(404, "Not Found: method not found")
            if decode_error is not None:
                raise decode_error
            with self._lock:
                queue = self._failures.get(name.lower())
                injected = queue.popleft() if queue else None
            if injected is not None:
                raise injected
            result = self._methods[name](params, files)
        except ApiError as exc:
            self._record(Call(name, params, at, False, exc.description, None))
            payload: dict[str, Any] = {"ok": False, "error_code": exc.status, "description": exc.description}
            if exc.parameters:
                payload["parameters"] = exc.parameters
            return exc.status, payload
        except Exception as exc:  # a bug in the fake: answer 500 rather than drop the connection
            description = f"Internal Server Error: fake_telegram failed: {exc!r}"
            self._record(Call(name, params, at, False, description, None))
            return 500, {"ok": False, "error_code": 500, "description": description}
        self._record(Call(name, params, at, True, None, result))
        return 200, {"ok": True, "result": result}

    def _download(self, rest: str) -> tuple[int, bytes, str]:
        token, _, file_path = rest.partition("/")
        with self._lock:
            stored = self._files_by_path.get(file_path) if token == self.token else None
            ok = stored is not None
            self._record(
                Call("downloadFile", {"file_path": file_path}, time.monotonic(), ok, None if ok else "Not Found", None)
            )
        if stored is None:
            return 404, b'{"ok":false,"error_code":404,"description":"Not Found"}', "application/json"
        return 200, stored.content, stored.mime_type

    def _record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    # ---------------------------------------------------------------- state helpers

    def _bot_user(self) -> dict:
        return {"id": self.bot_id, "is_bot": True, "first_name": "ragbot", "username": self.bot_username}

    @staticmethod
    def _user(user_id: int, first_name: str, language_code: str | None, username: str | None) -> dict:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        return user

    def _register_message(self, message: Any) -> None:
        if not isinstance(message, dict) or not isinstance(message.get("chat"), dict):
            return
        chat_id, message_id = message["chat"].get("id"), message.get("message_id")
        if not isinstance(chat_id, int) or not isinstance(message_id, int):
            return
        self._chats.setdefault(chat_id, message["chat"])
        self._last_message_id[chat_id] = max(self._last_message_id.get(chat_id, 0), message_id)
        self._messages[(chat_id, message_id)] = copy.deepcopy(message)

    def _register_update(self, update: dict) -> None:
        for key in _MESSAGE_KEYS:
            self._register_message(update.get(key))
        query = update.get("callback_query")
        if isinstance(query, dict) and "id" in query:
            self._issued_callbacks.add(str(query["id"]))

    def _chat_id(self, params: dict) -> int:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise _bad("chat_id is empty")
        if not isinstance(chat_id, int):
            raise _bad("chat not found")  # channel usernames etc.: the fake knows no such chats
        return chat_id

    def _chat(self, chat_id: int) -> dict:
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"}
            if chat_id < 0:
                chat["title"] = "Test group"
            self._chats[chat_id] = chat
        return copy.deepcopy(chat)

    def _new_bot_message(self, chat_id: int, params: dict) -> dict:
        """A message skeleton from the bot, with the reply it answers checked and attached."""
        reply_to = self._reply_target(chat_id, params)
        message_id = self._last_message_id.get(chat_id, 0) + 1
        self._last_message_id[chat_id] = message_id
        message: dict[str, Any] = {
            "message_id": message_id,
            "from": self._bot_user(),
            "chat": self._chat(chat_id),
            "date": int(time.time()),
        }
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        return message

    def _reply_target(self, chat_id: int, params: dict) -> dict | None:
        reply = params.get("reply_parameters")
        if isinstance(reply, dict):
            target_chat = reply.get("chat_id", chat_id)
            message_id = reply.get("message_id")
            allow = bool(reply.get("allow_sending_without_reply"))
        elif params.get("reply_to_message_id") is not None:
            target_chat, message_id = chat_id, params["reply_to_message_id"]
            allow = bool(params.get("allow_sending_without_reply"))
        else:
            return None
        found = self._messages.get((target_chat, message_id)) if isinstance(message_id, int) else None
        if found is None:
            if allow:
                return None
            raise _bad("message to be replied not found")
        found = copy.deepcopy(found)
        found.pop("reply_to_message", None)  # Telegram does not nest replies further
        return found

    def _store_bot_message(self, message: dict) -> dict:
        key = (message["chat"]["id"], message["message_id"])
        self._messages[key] = copy.deepcopy(message)
        self._bot_messages.add(key)
        return message

    @staticmethod
    def _checked_text(text: Any, parse_mode: Any, limit: int, *, caption: bool = False) -> tuple[str, list[dict]]:
        """Parse, then enforce empty/too-long (UTF-16 units of the visible text); return trimmed text."""
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        visible, entities = format_text(text, parse_mode if isinstance(parse_mode, str) else None)
        if not caption and not visible.strip(_SPACES):
            raise _bad("message text is empty")
        if utf16_len(visible) > limit:
            raise _bad("message caption is too long" if caption else "message is too long")
        return _trim(visible, entities)

    @staticmethod
    def _inline_markup(markup: Any) -> dict | None:
        return markup if isinstance(markup, dict) and "inline_keyboard" in markup else None

    # ---------------------------------------------------------------- methods

    def _true(self, params: dict, files: dict) -> bool:
        return True

    def _get_me(self, params: dict, files: dict) -> dict:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _delete_webhook(self, params: dict, files: dict) -> bool:
        with self._lock:
            self._webhook_url = ""
            if params.get("drop_pending_updates"):
                self._pending.clear()
        return True

    def _set_webhook(self, params: dict, files: dict) -> bool:
        with self._lock:
            self._webhook_url = str(params.get("url") or "")
            if params.get("drop_pending_updates"):
                self._pending.clear()
        return True

    def _get_webhook_info(self, params: dict, files: dict) -> dict:
        with self._lock:
            return {
                "url": self._webhook_url,
                "has_custom_certificate": False,
                "pending_update_count": len(self._pending),
            }

    def _get_updates(self, params: dict, files: dict) -> list[dict]:
        offset = params.get("offset") or 0
        limit = params.get("limit") or 100
        timeout = params.get("timeout") or 0
        if not isinstance(offset, int) or not isinstance(limit, int) or not isinstance(timeout, int | float):
            raise _bad("wrong parameter in getUpdates")
        limit = min(max(limit, 1), 100)
        deadline = time.monotonic() + max(float(timeout), 0.0)
        with self._cond:
            if self._webhook_url:
                raise ApiError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first",
                )
            if isinstance(params.get("allowed_updates"), list):
                self._allowed_updates = [str(u) for u in params["allowed_updates"]]
            # A newer getUpdates releases an older long poll (Telegram would answer it 409).
            self._poll_generation += 1
            generation = self._poll_generation
            self._cond.notify_all()
            if offset > 0:
                self._pending = [u for u in self._pending if u["update_id"] >= offset]
            elif offset < 0:
                self._pending = self._pending[offset:]
            while True:
                batch = self._deliverable(limit)
                if batch or self._stopping or generation != self._poll_generation:
                    return batch
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                self._polls_waiting += 1
                try:
                    self._cond.wait(remaining)
                finally:
                    self._polls_waiting -= 1

    def _deliverable(self, limit: int) -> list[dict]:
        def wanted(update: dict) -> bool:
            kind = next((k for k in update if k != "update_id"), "")
            return kind in self._allowed_updates if self._allowed_updates else kind not in _OPT_IN_UPDATES

        self._pending = [u for u in self._pending if wanted(u)]  # Telegram drops unwanted types
        return copy.deepcopy(self._pending[:limit])

    def _send_message(self, params: dict, files: dict) -> dict:
        with self._lock:
            chat_id = self._chat_id(params)
            text, entities = self._checked_text(params.get("text"), params.get("parse_mode"), TEXT_LIMIT)
            markup = params.get("reply_markup")
            _check_markup(markup)
            message = self._new_bot_message(chat_id, params)
            message["text"] = text
            if entities:
                message["entities"] = entities
            if inline := self._inline_markup(markup):
                message["reply_markup"] = inline
            self._store_bot_message(message)
            self._sent.append(message)
            return message

    def _editable(self, params: dict) -> tuple[tuple[int, int], dict]:
        chat_id = self._chat_id(params)
        message_id = params.get("message_id")
        if not isinstance(message_id, int):
            raise _bad("message identifier is not specified")
        key = (chat_id, message_id)
        if key not in self._messages:
            raise _bad("message to edit not found")
        if key not in self._bot_messages:
            raise _bad("message can't be edited")
        return key, self._messages[key]

    def _edit_message_text(self, params: dict, files: dict) -> dict | bool:
        with self._lock:
            if params.get("inline_message_id"):
                self._checked_text(params.get("text"), params.get("parse_mode"), TEXT_LIMIT)
                return True
            key, current = self._editable(params)
            if "text" not in current:
                raise _bad("there is no text in the message to edit")
            text, entities = self._checked_text(params.get("text"), params.get("parse_mode"), TEXT_LIMIT)
            markup = params.get("reply_markup")
            _check_markup(markup)
            inline = self._inline_markup(markup)
            unchanged = (
                current["text"] == text
                and current.get("entities", []) == entities
                and current.get("reply_markup") == inline
            )
            if unchanged:
                raise ApiError(400, NOT_MODIFIED)
            edited = copy.deepcopy(current)
            edited["text"] = text
            edited.pop("entities", None)
            edited.pop("reply_markup", None)  # an edit without reply_markup removes the keyboard
            if entities:
                edited["entities"] = entities
            if inline:
                edited["reply_markup"] = inline
            edited["edit_date"] = int(time.time())
            self._messages[key] = copy.deepcopy(edited)
            return edited

    def _edit_message_reply_markup(self, params: dict, files: dict) -> dict | bool:
        with self._lock:
            markup = params.get("reply_markup")
            _check_markup(markup)
            if params.get("inline_message_id"):
                return True
            key, current = self._editable(params)
            inline = self._inline_markup(markup)
            if current.get("reply_markup") == inline:
                raise ApiError(400, NOT_MODIFIED)
            edited = copy.deepcopy(current)
            edited.pop("reply_markup", None)
            if inline:
                edited["reply_markup"] = inline
            edited["edit_date"] = int(time.time())
            self._messages[key] = copy.deepcopy(edited)
            return edited

    def _delete_message(self, params: dict, files: dict) -> bool:
        with self._lock:
            chat_id = self._chat_id(params)
            key = (chat_id, params.get("message_id"))
            if key not in self._messages:
                raise _bad("message to delete not found")
            del self._messages[key]
            self._bot_messages.discard(key)  # type: ignore[arg-type]
            return True

    def _answer_callback_query(self, params: dict, files: dict) -> bool:
        with self._lock:
            query_id = str(params.get("callback_query_id") or "")
            if query_id not in self._issued_callbacks or query_id in self._answered_callbacks:
                raise ApiError(400, QUERY_TOO_OLD)
            self._answered_callbacks.add(query_id)
            return True

    def _send_chat_action(self, params: dict, files: dict) -> bool:
        self._chat_id(params)
        if params.get("action") not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        return True

    @staticmethod
    def _command_key(params: dict) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    def _set_my_commands(self, params: dict, files: dict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        if len(commands) > 100:
            raise _bad("BOT_COMMANDS_TOO_MUCH")
        for command in commands:
            if not isinstance(command, dict) or not _BOT_COMMAND_NAME.fullmatch(str(command.get("command", ""))):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        with self._lock:
            self._commands[self._command_key(params)] = [
                {"command": c["command"], "description": c["description"]} for c in commands
            ]
        return True

    def _get_my_commands(self, params: dict, files: dict) -> list[dict]:
        with self._lock:
            return copy.deepcopy(self._commands.get(self._command_key(params), []))

    def _delete_my_commands(self, params: dict, files: dict) -> bool:
        with self._lock:
            self._commands.pop(self._command_key(params), None)
        return True

    def _set_description(self, kind: str) -> Callable[[dict, dict], bool]:
        def handler(params: dict, files: dict) -> bool:
            with self._lock:
                self._descriptions[(kind, str(params.get("language_code") or ""))] = str(params.get(kind) or "")
            return True

        return handler

    def _get_description(self, kind: str) -> Callable[[dict, dict], dict]:
        def handler(params: dict, files: dict) -> dict:
            with self._lock:
                return {kind: self._descriptions.get((kind, str(params.get("language_code") or "")), "")}

        return handler

    def _send_document(self, params: dict, files: dict) -> dict:
        with self._lock:
            chat_id = self._chat_id(params)
            value = params.get("document")
            upload = files.get("document")
            if isinstance(value, str) and value.startswith("attach://"):
                upload = files.get(value[len("attach://") :])
            if upload is not None:
                name, mime, content = upload
                if not content:
                    raise _bad("file must be non-empty")
                file_id = f"BQACAgIAAx-upload-{next(self._upload_ids)}"
                document = self.add_file(file_id, name or "document", content)
                document["mime_type"] = mime if mime and mime != "application/octet-stream" else document["mime_type"]
                params["document"] = {"file_name": name, "mime_type": mime, "size": len(content), "content": content}
            elif isinstance(value, str) and value in self._files:
                document = self._files[value].document()
            elif isinstance(value, str) and value.startswith(("http://", "https://")):
                name = urllib.parse.urlsplit(value).path.rsplit("/", 1)[-1] or "document"
                document = self.add_file(f"BQACAgIAAx-url-{next(self._upload_ids)}", name, b"")
            elif isinstance(value, str) and value:
                raise _bad("wrong file identifier/HTTP URL specified")
            else:
                raise _bad("there is no document in the request")
            caption, caption_entities = self._checked_text(
                params.get("caption"), params.get("parse_mode"), CAPTION_LIMIT, caption=True
            )
            markup = params.get("reply_markup")
            _check_markup(markup)
            message = self._new_bot_message(chat_id, params)
            message["document"] = document
            if caption:
                message["caption"] = caption
            if caption_entities:
                message["caption_entities"] = caption_entities
            if inline := self._inline_markup(markup):
                message["reply_markup"] = inline
            self._store_bot_message(message)
            self._sent_documents.append(message)
            return message

    def _get_file(self, params: dict, files: dict) -> dict:
        with self._lock:
            stored = self._files.get(str(params.get("file_id") or ""))
            if stored is None:
                raise _bad("invalid file_id")
            if len(stored.content) > DOWNLOAD_LIMIT:
                raise _bad("file is too big")
            file = {"file_id": stored.file_id, "file_unique_id": stored.unique_id, "file_path": stored.path}
            if stored.declare_size:
                file["file_size"] = len(stored.content)
            return file
