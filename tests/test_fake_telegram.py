"""Tests of the fake Telegram Bot API server itself (raw HTTP, then the real PTB on top)."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx
import pytest
import telegram
from telegram.constants import ParseMode
from telegram.error import BadRequest, EndPointNotFound, RetryAfter
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters

from .fake_telegram import FakeBotAPI, HtmlParseError, parse_html

EMOJI = "\U0001f600"  # outside the BMP: two UTF-16 code units


@pytest.fixture
def fake():
    with FakeBotAPI() as server:
        yield server


@pytest.fixture
def client(fake):
    with httpx.Client(base_url=f"{fake.url}/bot{fake.token}/", timeout=10, verify=False) as http:
        yield http


def call(client: httpx.Client, method: str, **params: Any) -> httpx.Response:
    """POST like PTB does: form-encoded strings, complex values as JSON strings."""
    data = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
    return client.post(method, data=data)


def ok(response: httpx.Response) -> Any:
    body = response.json()
    assert response.status_code == 200 and body["ok"] is True, body
    return body["result"]


def error(response: httpx.Response, status: int = 400) -> str:
    body = response.json()
    assert response.status_code == status and body == {**body, "ok": False, "error_code": status}, body
    return body["description"]


def wait_until(predicate, timeout: float = 5.0) -> None:
    """Spin (1 ms steps) until ``predicate`` holds; the assertions never depend on the wait length."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.001)


# ------------------------------------------------------------------ basics


def test_get_me_and_webhook_methods(fake, client):
    me = ok(call(client, "getMe"))
    assert me["id"] == fake.bot_id and me["is_bot"] is True and me["username"] == "ragbot_test_bot"
    assert me["can_join_groups"] is True and me["can_read_all_group_messages"] is False
    assert ok(call(client, "deleteWebhook", drop_pending_updates=False)) is True
    assert ok(call(client, "getWebhookInfo")) == {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
    assert ok(call(client, "sendChatAction", chat_id=5, action="typing")) is True
    assert "wrong parameter action" in error(call(client, "sendChatAction", chat_id=5, action="dancing"))


def test_unknown_method_and_wrong_token(fake, client):
    assert error(call(client, "sendTelepathy", chat_id=1), 404) == "Not Found: method not found"
    wrong = httpx.post(f"{fake.url}/bot123:nope/getMe", timeout=10, verify=False)
    assert error(wrong, 401) == "Unauthorized"
    assert [c.method for c in fake.rejected()] == ["sendTelepathy", "getMe"]
    assert fake.calls_to("sendTelepathy")[0].params == {"chat_id": 1}


def test_method_names_are_case_insensitive_and_json_bodies_work(fake, client):
    fake.push_message("hi", user_id=7)
    sent = ok(client.post("SENDMESSAGE", json={"chat_id": 7, "text": "<i>x</i>", "parse_mode": "HTML"}))
    assert sent["text"] == "x"
    assert fake.calls[-1].method == "sendMessage" and fake.calls[-1].params["text"] == "<i>x</i>"


# ------------------------------------------------------------------ getUpdates


def test_long_poll_returns_as_soon_as_an_update_is_pushed(fake, client):
    result: dict[str, Any] = {}

    def poll() -> None:
        result["response"] = call(client, "getUpdates", timeout=30)

    poller = threading.Thread(target=poll)
    poller.start()
    wait_until(lambda: fake.long_polls_waiting == 1)
    update_id = fake.push_message("hello")
    poller.join(timeout=10)
    assert not poller.is_alive(), "long poll was not released by push_update"
    updates = ok(result["response"])
    assert [u["update_id"] for u in updates] == [update_id]
    message = updates[0]["message"]
    assert message["text"] == "hello" and message["chat"] == {"id": 1001, "type": "private", "first_name": "Ann"}
    assert message["from"] == {"id": 1001, "is_bot": False, "first_name": "Ann", "language_code": "en"}
    assert update_id in fake.update_pushed_at


def test_stop_releases_a_long_poll():
    fake = FakeBotAPI().start()
    result: dict[str, Any] = {}

    def poll() -> None:
        result["response"] = httpx.post(
            f"{fake.url}/bot{fake.token}/getUpdates", data={"timeout": "30"}, timeout=40, verify=False
        )

    poller = threading.Thread(target=poll)
    poller.start()
    wait_until(lambda: fake.long_polls_waiting == 1)
    fake.stop()
    poller.join(timeout=10)
    assert not poller.is_alive()
    assert ok(result["response"]) == []


def test_offset_confirms_and_limit_caps(fake, client):
    ids = [fake.push_message(f"m{i}") for i in range(3)]
    assert ids == [1, 2, 3]
    assert [u["update_id"] for u in ok(call(client, "getUpdates"))] == [1, 2, 3]
    assert [u["update_id"] for u in ok(call(client, "getUpdates", limit=1))] == [1]  # not confirmed yet
    assert [u["update_id"] for u in ok(call(client, "getUpdates", offset=3))] == [3]
    assert ok(call(client, "getWebhookInfo"))["pending_update_count"] == 1
    assert ok(call(client, "getUpdates", offset=4, timeout=0)) == []
    assert fake.pending_updates() == []
    assert fake.push_message("later") == 4
    assert [u["message"]["text"] for u in ok(call(client, "getUpdates", offset=4))] == ["later"]


def test_message_ids_count_per_chat_and_commands_get_entities(fake, client):
    fake.push_message("/start", user_id=1)
    fake.push_message(f"/ask@{fake.bot_username} why?", user_id=1)
    fake.push_message("not /a command", user_id=2)
    fake.push_message(f"{EMOJI} @{fake.bot_username}, hi", user_id=2, chat_id=-5, chat_type="group")
    updates = ok(call(client, "getUpdates"))
    messages = [u["message"] for u in updates]
    assert [m["message_id"] for m in messages] == [1, 2, 1, 1]
    assert messages[3]["chat"] == {"id": -5, "type": "group", "title": "Test group"}
    assert messages[3]["entities"] == [{"type": "mention", "offset": 3, "length": 1 + len(fake.bot_username)}]
    assert messages[0]["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert messages[1]["entities"] == [{"type": "bot_command", "offset": 0, "length": 4 + 1 + len(fake.bot_username)}]
    assert messages[2]["entities"] == [{"type": "bot_command", "offset": 4, "length": 2}]  # Telegram marks it too
    assert ok(call(client, "sendMessage", chat_id=1, text="reply"))["message_id"] == 3


def test_webhook_blocks_get_updates(fake, client):
    assert ok(call(client, "setWebhook", url="https://example.com/hook")) is True
    assert "Conflict" in error(call(client, "getUpdates"), 409)
    ok(call(client, "deleteWebhook"))
    assert ok(call(client, "getUpdates")) == []


# ------------------------------------------------------------------ text rules


def test_text_limit_is_4096_utf16_units_of_visible_text(fake, client):
    assert ok(call(client, "sendMessage", chat_id=1, text="a" * 4096))["text"] == "a" * 4096
    assert error(call(client, "sendMessage", chat_id=1, text="a" * 4097)) == "Bad Request: message is too long"
    assert ok(call(client, "sendMessage", chat_id=1, text=EMOJI * 2048))
    assert error(call(client, "sendMessage", chat_id=1, text=EMOJI * 2049)) == "Bad Request: message is too long"
    # markup does not count, entities count as one character each
    ok(call(client, "sendMessage", chat_id=1, text="<b>" + "a" * 4096 + "</b>", parse_mode="HTML"))
    ok(call(client, "sendMessage", chat_id=1, text="&amp;" * 4096, parse_mode="HTML"))
    too_long = call(client, "sendMessage", chat_id=1, text="<b>" + "a" * 4097 + "</b>", parse_mode="HTML")
    assert error(too_long) == "Bad Request: message is too long"


@pytest.mark.parametrize("text", ["", "   \n ", "<b></b>", "<i> </i>"])
def test_empty_text_rejected(client, text):
    assert error(call(client, "sendMessage", chat_id=1, text=text, parse_mode="HTML")) == (
        "Bad Request: message text is empty"
    )


@pytest.mark.parametrize(
    "html",
    [
        "<b>bold <i>bold italic</i></b> plain",
        '<a href="https://example.com/?a=1&amp;b=2">link</a>',
        '<pre><code class="language-python">if a &lt; b: pass</code></pre>',
        "<blockquote expandable>quote</blockquote><blockquote>q</blockquote>",
        '<span class="tg-spoiler">s</span><tg-spoiler>t</tg-spoiler>',
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>',
        "a &amp; b &lt;c&gt; &quot;d&quot; &#123; &#x1F600;",
        "<B>upper</B> <s>s</s><u>u</u><ins>i</ins><del>d</del><strike>k</strike><em>e</em><strong>f</strong>",
        "<code>x</code> 2 > 1",
        "<b>closed by the short form</>",
    ],
)
def test_valid_html_accepted(client, html):
    ok(call(client, "sendMessage", chat_id=1, text=html, parse_mode="HTML"))


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("&foo;", 'Unsupported HTML entity "&foo;"'),
        ("AT&T", 'Unsupported HTML entity "&T"'),
        ("&amp", 'Unsupported HTML entity "&amp"'),
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<p>x</p>", 'Unsupported start tag "p" at byte offset 0'),
        ("line<br/>break", 'Unsupported start tag "br/" at byte offset 4'),
        ("x <b", "Unclosed start tag at byte offset 2"),
        ("<a>x</a>", 'Tag "a" must have a non-empty attribute "href"'),
        ('<a href="https://e.x" target="_blank">x</a>', 'Unsupported attribute "target" in the tag "a"'),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler"'),
        ("<b x>y</b>", 'Expected equal sign in declaration of an attribute of the tag "b"'),
        ("&#xD800;", "Text contains invalid Unicode characters"),
        (EMOJI + "<i>a</em>", 'Unmatched end tag at byte offset 8, expected "</i>", found "</em>"'),
    ],
)
def test_invalid_html_rejected(fake, client, html, reason):
    description = error(call(client, "sendMessage", chat_id=1, text=html, parse_mode="HTML"))
    assert description.startswith("Bad Request: can't parse entities: ")
    assert reason in description
    assert fake.rejected()[-1].error == description


def test_html_is_only_parsed_with_parse_mode(client):
    assert ok(call(client, "sendMessage", chat_id=1, text="a < b & <p>"))["text"] == "a < b & <p>"
    assert error(call(client, "sendMessage", chat_id=1, text="x", parse_mode="BBCode")) == (
        "Bad Request: unsupported parse_mode"
    )


def test_sent_message_has_visible_text_entities_and_raw_params(fake, client):
    html = "  <b>Hi</b> &amp; <a href='https://e.x/?q=1'>link</a> " + EMOJI + "<i>end</i>\n"
    sent = ok(call(client, "sendMessage", chat_id=42, text=html, parse_mode="HTML"))
    assert sent["text"] == f"Hi & link {EMOJI}end"
    assert sent["entities"] == [
        {"type": "bold", "offset": 0, "length": 2},
        {"type": "text_link", "offset": 5, "length": 4, "url": "https://e.x/?q=1"},
        {"type": "italic", "offset": 12, "length": 3},
    ]
    assert sent["from"]["is_bot"] is True and sent["chat"]["id"] == 42
    assert fake.sent_messages(42) == [sent] and fake.sent_messages(1) == []
    params = fake.calls_to("sendMessage")[0].params
    assert params == {"chat_id": 42, "text": html, "parse_mode": "HTML"}


def test_parse_html_merges_pre_and_code_language():
    text, entities = parse_html('<pre><code class="language-py">x</code></pre><code class="language-c">y</code>')
    assert text == "xy"
    assert entities == [
        {"type": "pre", "offset": 0, "length": 1, "language": "py"},
        {"type": "code", "offset": 1, "length": 1},
    ]
    with pytest.raises(HtmlParseError):
        parse_html("<b><i>x</b></i>")


# ------------------------------------------------------------------ markup, replies, edits, callbacks


def test_callback_data_must_be_1_to_64_bytes(client):
    def keyboard(data: str) -> dict:
        return {"inline_keyboard": [[{"text": "more", "callback_data": data}]]}

    sent = ok(call(client, "sendMessage", chat_id=1, text="x", reply_markup=keyboard("d" * 64)))
    assert sent["reply_markup"] == keyboard("d" * 64)
    for bad in ("d" * 65, "é" * 33, ""):
        rejected = call(client, "sendMessage", chat_id=1, text="x", reply_markup=keyboard(bad))
        assert error(rejected) == "Bad Request: BUTTON_DATA_INVALID"
    plain = {"inline_keyboard": [[{"text": "no action"}]]}
    assert "text buttons are unallowed" in error(call(client, "sendMessage", chat_id=1, text="x", reply_markup=plain))


def test_reply_to_unknown_message_rejected(fake, client):
    fake.push_message("question", user_id=9)
    reply = ok(call(client, "sendMessage", chat_id=9, text="answer", reply_parameters={"message_id": 1}))
    assert reply["reply_to_message"]["text"] == "question"
    missing = call(client, "sendMessage", chat_id=9, text="a", reply_parameters={"message_id": 77})
    assert error(missing) == "Bad Request: message to be replied not found"
    lenient = {"message_id": 77, "allow_sending_without_reply": True}
    assert "reply_to_message" not in ok(call(client, "sendMessage", chat_id=9, text="a", reply_parameters=lenient))


def test_edit_rules(fake, client):
    fake.push_message("question", user_id=9)
    sent = ok(call(client, "sendMessage", chat_id=9, text="draft", reply_markup={"inline_keyboard": []}))
    mid = sent["message_id"]
    assert error(call(client, "editMessageText", chat_id=9, message_id=99, text="x")) == (
        "Bad Request: message to edit not found"
    )
    assert error(call(client, "editMessageText", chat_id=9, message_id=1, text="x")) == (
        "Bad Request: message can't be edited"
    )
    same = call(
        client, "editMessageText", chat_id=9, message_id=mid, text="draft", reply_markup={"inline_keyboard": []}
    )
    assert error(same).startswith("Bad Request: message is not modified")
    edited = ok(call(client, "editMessageText", chat_id=9, message_id=mid, text="<b>final</b>", parse_mode="HTML"))
    assert edited["text"] == "final" and "reply_markup" not in edited and "edit_date" in edited
    assert "can't parse entities" in error(
        call(client, "editMessageText", chat_id=9, message_id=mid, text="<b>", parse_mode="HTML")
    )
    assert error(call(client, "editMessageText", chat_id=9, message_id=mid, text="y" * 4097)) == (
        "Bad Request: message is too long"
    )
    markup = {"inline_keyboard": [[{"text": "go", "callback_data": "go"}]]}
    ok(call(client, "editMessageReplyMarkup", chat_id=9, message_id=mid, reply_markup=markup))
    assert [c.method for c in fake.edits()] == ["editMessageText", "editMessageReplyMarkup"]
    assert fake.sent_messages(9)[0]["text"] == "draft"  # as sent; the current state is separate
    assert fake.current_message(9, mid)["reply_markup"] == markup


def test_callback_queries_are_answered_once(fake, client):
    fake.push_message("q", user_id=3)
    sent = ok(call(client, "sendMessage", chat_id=3, text="pick", reply_markup={"inline_keyboard": []}))
    fake.push_callback("page:2", message=sent, user_id=3)
    updates = ok(call(client, "getUpdates"))
    query = updates[-1]["callback_query"]
    assert query["data"] == "page:2" and query["message"] == sent and query["from"]["id"] == 3
    assert ok(call(client, "answerCallbackQuery", callback_query_id=query["id"])) is True
    too_old = "Bad Request: query is too old and response timeout expired or query ID is invalid"
    assert error(call(client, "answerCallbackQuery", callback_query_id=query["id"])) == too_old
    assert error(call(client, "answerCallbackQuery", callback_query_id="never-issued")) == too_old


def test_commands_are_stored(client):
    commands = [{"command": "start", "description": "Begin"}, {"command": "ask", "description": "Ask"}]
    assert ok(call(client, "setMyCommands", commands=commands)) is True
    assert ok(call(client, "getMyCommands")) == commands
    assert error(call(client, "setMyCommands", commands=[{"command": "Bad-Cmd", "description": "x"}])) == (
        "Bad Request: BOT_COMMAND_INVALID"
    )
    ok(call(client, "deleteMyCommands"))
    assert ok(call(client, "getMyCommands")) == []
    assert ok(call(client, "setMyDescription", description="Answers questions")) is True
    assert ok(call(client, "setMyShortDescription", short_description="QA")) is True


# ------------------------------------------------------------------ failure injection


def test_fail_next_answers_429_with_retry_after(fake, client):
    fake.fail_next("sendMessage", times=2, retry_after=7)
    for _ in range(2):
        response = call(client, "sendMessage", chat_id=1, text="x")
        assert response.status_code == 429
        assert response.json() == {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 7",
            "parameters": {"retry_after": 7},
        }
    ok(call(client, "sendMessage", chat_id=1, text="x"))
    fake.fail_next_with("getMe", status=500, description="Internal Server Error")
    assert error(call(client, "getMe"), 500) == "Internal Server Error"
    ok(call(client, "getMe"))
    assert [c.error for c in fake.rejected()] == ["Too Many Requests: retry after 7"] * 2 + ["Internal Server Error"]
    assert len(fake.sent_messages()) == 1


# ------------------------------------------------------------------ files


def test_get_file_and_download(fake, client):
    document = fake.add_file("file-1", "notes.txt", b"hello file")
    assert document == {
        "file_id": "file-1",
        "file_unique_id": document["file_unique_id"],
        "file_name": "notes.txt",
        "mime_type": "text/plain",
        "file_size": 10,
    }
    fake.push_message("", document=document, caption="/ingest")
    message = ok(call(client, "getUpdates"))[0]["message"]
    assert message["document"] == document and message["caption"] == "/ingest" and "text" not in message
    assert message["caption_entities"] == [{"type": "bot_command", "offset": 0, "length": 7}]
    file = ok(call(client, "getFile", file_id="file-1"))
    assert file == {**file, "file_path": "documents/notes.txt", "file_size": 10}
    download = httpx.get(f"{fake.url}/file/bot{fake.token}/{file['file_path']}", timeout=10, verify=False)
    assert download.status_code == 200 and download.content == b"hello file"
    assert httpx.get(f"{fake.url}/file/botWRONG/{file['file_path']}", timeout=10, verify=False).status_code == 404
    assert error(call(client, "getFile", file_id="nope")) == "Bad Request: invalid file_id"


def test_send_document_multipart_upload(fake, client):
    files = {"document": ('report "q1".csv', b"a,b\n1,2\n", "text/csv")}
    data = {"chat_id": "5", "caption": "<b>Report</b>", "parse_mode": "HTML"}
    sent = ok(client.post("sendDocument", data=data, files=files))
    assert sent["document"]["file_name"] == 'report "q1".csv' and sent["document"]["file_size"] == 8
    assert sent["caption"] == "Report" and sent["caption_entities"] == [{"type": "bold", "offset": 0, "length": 6}]
    recorded = fake.calls_to("sendDocument")[0].params["document"]
    assert recorded["file_name"] == 'report "q1".csv' and recorded["size"] == 8 and recorded["content"] == b"a,b\n1,2\n"
    path = ok(call(client, "getFile", file_id=sent["document"]["file_id"]))["file_path"]
    assert httpx.get(f"{fake.url}/file/bot{fake.token}/{path}", timeout=10, verify=False).content == b"a,b\n1,2\n"
    assert fake.sent_documents(5) == [sent]


# ------------------------------------------------------------------ async helpers and the real PTB


@pytest.mark.asyncio
async def test_wait_for_times_out_with_a_summary(fake):
    fake.fail_next("sendMessage")
    async with httpx.AsyncClient(verify=False) as http:
        await http.post(f"{fake.url}/bot{fake.token}/sendMessage", data={"chat_id": "1", "text": "x"})
    with pytest.raises(AssertionError, match=r"(?s)expected 1 sent messages.*sendMessage REJECTED"):
        await fake.wait_for_messages(1, timeout=0.05)


@pytest.mark.asyncio
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # PTB's own RetryAfter str()
async def test_real_ptb_bot_against_the_fake(fake):
    bot = telegram.Bot(fake.token, base_url=f"{fake.url}/bot", base_file_url=f"{fake.url}/file/bot")
    async with bot:
        me = await bot.get_me()
        assert me.username == fake.bot_username and me.id == fake.bot_id

        update_id = fake.push_message("what happened?", user_id=77, username="ann77")
        updates = await bot.get_updates(timeout=5)
        assert [u.update_id for u in updates] == [update_id]
        assert updates[0].message.text == "what happened?" and updates[0].effective_user.username == "ann77"

        sent = await bot.send_message(
            77,
            "<b>Answer</b> with a <a href='https://example.com'>source</a> &amp; more",
            parse_mode=ParseMode.HTML,
            reply_parameters=telegram.ReplyParameters(updates[0].message.message_id),
            reply_markup=telegram.InlineKeyboardMarkup([[telegram.InlineKeyboardButton("more", callback_data="m")]]),
        )
        assert sent.text == "Answer with a source & more"
        assert sent.entities[0].type == telegram.MessageEntity.BOLD
        assert sent.reply_to_message.message_id == updates[0].message.message_id
        assert sent.reply_markup.inline_keyboard[0][0].callback_data == "m"
        assert fake.calls_to("sendMessage")[0].params["reply_markup"] == sent.reply_markup.to_dict()

        with pytest.raises(BadRequest, match=r"(?i)can.t parse entities"):
            await bot.send_message(77, "1 < 2", parse_mode=ParseMode.HTML)
        fake.fail_next("sendMessage", retry_after=3)
        with pytest.raises(RetryAfter, match="Retry in 3"):
            await bot.send_message(77, "x")
        with pytest.raises(EndPointNotFound):  # PTB's reading of Telegram's 404 for an unknown method
            await bot.do_api_request("noSuchMethod")

        document = fake.add_file("doc-9", "article.md", "# Título\n".encode())
        file = await bot.get_file("doc-9")
        assert file.file_size == document["file_size"]
        assert bytes(await file.download_as_bytearray()) == "# Título\n".encode()

        assert (await bot.get_updates(offset=update_id + 1, timeout=0)) == ()


@pytest.mark.asyncio
async def test_ptb_application_polls_the_fake(fake):
    async def echo(update: telegram.Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_html(f"<i>{update.message.text}</i>")

    app = ApplicationBuilder().token(fake.token).base_url(f"{fake.url}/bot").build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    async with app:
        await app.start()
        await app.updater.start_polling(timeout=10)
        first = fake.push_message("ping", user_id=5)
        fake.push_message("pong", user_id=6)
        (reply,) = await fake.wait_for_messages(1, chat_id=5, timeout=10)
        await fake.wait_for_messages(2, timeout=10)
        assert reply["text"] == "ping" and reply["entities"][0]["type"] == "italic"
        assert fake.calls_to("sendMessage")[0].at >= fake.update_pushed_at[first]
        await app.updater.stop()
        await app.stop()
    assert fake.pending_updates() == []  # PTB confirmed what it processed
    assert fake.rejected() == []
    assert fake.calls[0].method == "getMe" and fake.calls_to("deleteWebhook")
