"""The real python-telegram-bot Application, polling a fake Bot API over HTTP on 127.0.0.1.

The fake enforces Telegram's rules (4096 UTF-16 units, HTML entity validity, 429 on
demand), so a test passes only if the bot really respects them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.logs import setup_logging
from bot.render import html_to_plain
from bot.telegram import build_application
from bot.texts import EN, FR, courtesy, links_in
from retrieval import Engine, Settings
from retrieval.answers.extractive import NOTHING_MORE, NOTHING_YET
from retrieval.stores.pointer import POINTER, current_version

from .fake_telegram import FakeBotAPI
from .support import (
    TREATY_ARTICLE,
    TUMEN_PARAGRAPHS,
    ZANZIBAR,
    FakeEmbedder,
    fake_encoders,
    make_settings,
    web_server,
)

ADMIN = 4242


@asynccontextmanager
async def running_bot(settings: Settings, engine: Engine, fake: FakeBotAPI) -> AsyncIterator[None]:
    """Start the real Application in polling mode against ``fake``; stop it afterwards."""
    app = build_application(settings, engine)
    await app.initialize()
    await app.start()
    # As run_polling does: a failed poll goes to the application's error handler.
    await app.updater.start_polling(
        poll_interval=0.0,
        timeout=1,
        error_callback=lambda exc: app.create_task(app.process_error(error=exc, update=None)),
    )
    try:
        yield
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


def bot_settings(base: Settings, fake: FakeBotAPI, **extra: object) -> Settings:
    values: dict[str, object] = {
        "telegram_token": fake.token,
        "telegram_api_url": fake.url,
        "admin_ids": [ADMIN],
        "telegram_send_retries": 3,
    }
    values.update(extra)
    return base.with_changes(**values)


@pytest.fixture
def fake():
    with FakeBotAPI() as server:
        yield server


@pytest.fixture
def fake_engine(tmp_path: Path) -> Engine:
    engine = Engine(make_settings(tmp_path), encoders=fake_encoders())
    engine.index()
    return engine


def texts(messages: list[dict]) -> str:
    return "\n".join(m.get("text", "") for m in messages)


def last_sent_html(fake: FakeBotAPI, chat_id: int) -> list[str]:
    return [c.params["text"] for c in fake.calls_to("sendMessage") if c.ok and int(c.params["chat_id"]) == chat_id]


# --- answering ---------------------------------------------------------------------------------


@pytest.mark.slow
async def test_treaty_question_gets_a_cited_answer_and_sources(real_engine: Engine, fake: FakeBotAPI):
    settings = bot_settings(real_engine.settings, fake)
    async with running_bot(settings, real_engine, fake):
        fake.push_message("What did the treaty include?", user_id=1001)
        [reply] = await fake.wait_for_messages(1, chat_id=1001)
        assert "[1]" in reply["text"]
        assert "aide réciproque en cas d’attaque" in reply["text"]
        buttons = reply["reply_markup"]["inline_keyboard"][0]
        assert buttons[0]["text"] == "Sources"
        assert any(c.params.get("action") == "typing" for c in fake.calls_to("sendChatAction"))

        fake.push_callback(buttons[0]["callback_data"], message=reply, user_id=1001)
        [_, sources] = await fake.wait_for_messages(2, chat_id=1001)
        assert "aide réciproque" in sources["text"]
        html = last_sent_html(fake, 1001)[-1]
        assert "<blockquote>" in html and "[1]" in html
        assert fake.calls_to("answerCallbackQuery")
    assert not fake.rejected()
    assert TREATY_ARTICLE  # the passage quoted above is that article's


async def test_welcome_in_french_and_english(fake_engine: Engine, fake: FakeBotAPI):
    async with running_bot(bot_settings(fake_engine.settings, fake), fake_engine, fake):
        fake.push_message("/start", user_id=1, language_code="fr")
        fake.push_message("/help", user_id=2, language_code="en-GB")
        [fr] = await fake.wait_for_messages(1, chat_id=1)
        [en] = await fake.wait_for_messages(1, chat_id=2)
    assert "Bonjour" in fr["text"] and "5 articles" in fr["text"] and "2023-08 – 2024-06" in fr["text"]
    assert "Hello" in en["text"] and "5 news articles" in en["text"]


async def test_a_greeting_or_a_question_about_the_bot_is_welcomed_and_thanks_acknowledged(
    fake_engine: Engine, fake: FakeBotAPI
):
    """ "hello" and "merci !" are no questions: they were searched and refused ("I could not find this
    in the articles"); "What can you do?" and "Quels articles as-tu ?" quoted a passage about North
    Korean media publishing articles. A greeting, or a question about the bot and what it knows, gets
    the welcome (what it does, how many articles, from when), thanks a short reply, in the language
    written (else the account's); a question that opens with a greeting, or asks what the bot knows
    of something, is still answered."""
    messages = {
        51: ("hello", "fr"),
        52: ("Merci beaucoup !", "en"),
        53: ("Hi, what did the treaty include?", "en"),
        54: ("What can you do?", "fr"),
        55: ("Quels articles as-tu ?", "en"),
        56: ("What do you know about the treaty?", "en"),
        57: ("???", "en"),  # no word: nothing to search for
    }
    async with running_bot(bot_settings(fake_engine.settings, fake), fake_engine, fake):
        for user, (text, language) in messages.items():
            fake.push_message(text, user_id=user, language_code=language)
        sent = {user: (await fake.wait_for_messages(1, chat_id=user))[0]["text"] for user in messages}
    assert "Hello" in sent[51] and "5 news articles" in sent[51], sent[51]
    assert sent[52] == FR.you_are_welcome
    assert "Hello" in sent[54] and "5 news articles" in sent[54], sent[54]
    assert "Bonjour" in sent[55] and "5 articles de presse" in sent[55], sent[55]
    assert sent[57] == EN.empty_question
    for question in (53, 56):
        assert "[1]" in sent[question] and "Hello" not in sent[question], sent[question]


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("hello", "greeting"),
        ("merci beaucoup !", "thanks"),
        # in the other languages a question may be asked in (it was searched, and refused in French)
        ("¡Muchas gracias!", "thanks"),
        ("Danke schön", "thanks"),
        ("Grazie mille", "thanks"),
        ("Obrigado", "thanks"),
        ("Buenos días", "greeting"),
        ("Guten Tag", "greeting"),
        ("Ciao!", "greeting"),
        ("Boa tarde", "greeting"),
        ("What can you do?", "about"),
        ("Who are you?", "about"),
        ("Quels articles as-tu ?", "about"),
        ("De quoi parlent les articles ?", "about"),
        ("help", "about"),
        # A question about something the articles may hold is a question, whoever it addresses.
        ("What do you know about the treaty?", None),
        ("Can you tell me who signed the treaty?", None),
        ("Do you know Kim?", None),
        ("Who signed it?", None),
        # A pasted link is no question (it was searched, and quoted whatever passage came first).
        ("https://www.lemonde.fr/international/article/2024/06/19/traite.html", "link"),
        ("<http://example.com/a?b=c>.", "link"),
        ("www.dw.com/fr/poutine-pyongyang", "link"),
        ("https://a.example/1 https://b.example/2", "link"),
        ("What does https://example.com/treaty say about the treaty?", None),
        # Where the last answer comes from (it was taken for "what do you know?" and welcomed).
        ("sources ?", "sources"),
        ("What are your sources?", "sources"),
        ("Where does this come from?", "sources"),
        ("Quelle est ta source ?", "sources"),
        ("D'où ça vient ?", "sources"),
        ("Quelles sont les sources de financement de la Corée du Nord ?", None),
        ("What sources did Reuters cite?", None),
        ("Where is it from?", None),  # the Aurus, say: what the articles may tell
        ("Quelles sont ses sources ?", None),
        # No word at all: nothing to search for (it was searched, and refused as not in the articles).
        ("???", "wordless"),
        ("🙂", "wordless"),
        ("2019 ?", None),
    ],
)
def test_what_is_no_question_for_the_articles(message: str, kind: str | None):
    assert courtesy(message) == kind


def test_the_links_of_a_message_are_read_without_what_closes_them():
    assert links_in("<https://a.example/story.html>.") == ["https://a.example/story.html"]
    assert links_in("« www.b.example/x »") == ["www.b.example/x"]
    assert links_in("Is https://a.example/story.html about the treaty?") == []
    assert links_in("(https://fr.wikipedia.org/wiki/Kim_(homme_politique)).") == [
        "https://fr.wikipedia.org/wiki/Kim_(homme_politique)"
    ]
    assert links_in("https://a.example/1,https://b.example/2") == ["https://a.example/1", "https://b.example/2"]


async def test_a_french_question_is_answered_sourced_and_limited_in_french(fake_engine: Engine, fake: FakeBotAPI):
    """The answer spoke the question's language, but the Sources heading and the rate-limit notice
    spoke the account's: "Quoted passages" under a French answer. Now what the user wrote decides
    when it tells; an English question from a French account gets English chrome, and a question
    whose language nothing tells ("missiles balistiques") the account's."""
    settings = bot_settings(fake_engine.settings, fake, rate_limit_questions=1, rate_limit_seconds=3600)
    async with running_bot(settings, fake_engine, fake):
        fake.push_message("Qu’a signé la Russie avec la Corée du Nord ?", user_id=41, language_code="en")
        [answer] = await fake.wait_for_messages(1, chat_id=41)
        fake.push_callback(answer["reply_markup"]["inline_keyboard"][0][0]["callback_data"], message=answer, user_id=41)
        fake.push_message("Et quand a-t-il été signé ?", user_id=41, language_code="en")
        await fake.wait_for_messages(3, chat_id=41)
        fake.push_message("What did Russia sign?", user_id=42, language_code="fr")
        fake.push_message("And when was it signed?", user_id=42, language_code="fr")
        fake.push_message("missiles balistiques", user_id=43, language_code="fr")
        fake.push_message("missiles balistiques", user_id=43, language_code="fr")
        await fake.wait_for_messages(2, chat_id=42)
        await fake.wait_for_messages(2, chat_id=43)
    fr = [m["text"] for m in fake.sent_messages(41)]
    assert any(t.startswith("Passages cités") for t in fr), fr
    assert any(t == FR.slow_down for t in fr) and not any("Quoted passages" in t or t == EN.slow_down for t in fr), fr
    assert EN.slow_down in [m["text"] for m in fake.sent_messages(42)]  # the notice may overtake the answer
    assert FR.slow_down in [m["text"] for m in fake.sent_messages(43)]


async def test_sources_command_lists_the_articles(fake_engine: Engine, fake: FakeBotAPI):
    async with running_bot(bot_settings(fake_engine.settings, fake), fake_engine, fake):
        fake.push_message("/sources", user_id=7)
        [msg] = await fake.wait_for_messages(1, chat_id=7)
    assert "5 articles indexed" in msg["text"]
    assert "Vladimir Poutine et le dirigeant nord-coréen se sont entretenus à Pyongyang" in msg["text"]


async def test_expired_sources_button_says_so(fake_engine: Engine, fake: FakeBotAPI):
    async with running_bot(bot_settings(fake_engine.settings, fake), fake_engine, fake):
        fake.push_message("traité de partenariat", user_id=8)
        [reply] = await fake.wait_for_messages(1, chat_id=8)
        fake.push_callback("src:not-a-known-key", message=reply, user_id=8)
        [_, gone] = await fake.wait_for_messages(2, chat_id=8)
    assert "no longer available" in gone["text"]


async def test_a_forged_button_press_without_a_message_is_refused_quietly(
    fake_engine: Engine, fake: FakeBotAPI, caplog: pytest.LogCaptureFixture
):
    """An inline-mode or forged callback carries no message: no traceback, no reply (issue 21, item 3)."""
    user = {"id": 61, "is_bot": False, "first_name": "Eve", "language_code": "en"}
    async with running_bot(bot_settings(fake_engine.settings, fake), fake_engine, fake):
        for extra in ({"inline_message_id": "AAAA"}, {}):
            fake.push_update(
                {
                    "callback_query": {
                        "id": f"forged-{len(extra)}",
                        "from": user,
                        "chat_instance": "1",
                        "data": "src:x",
                        **extra,
                    }
                }
            )
        await fake.wait_for(lambda: len(fake.calls_to("answerCallbackQuery")) == 2)
        fake.push_message("/sources", user_id=61)  # the bot is still serving
        await fake.wait_for_messages(1, chat_id=61)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
    assert len(fake.sent_messages(61)) == 1


async def test_a_sources_key_answers_only_in_its_own_chat(fake_engine: Engine, fake: FakeBotAPI):
    """A button's data copied into a press in another chat does not show that chat the quotes."""
    async with running_bot(bot_settings(fake_engine.settings, fake), fake_engine, fake):
        fake.push_message("traité de partenariat", user_id=62)
        [answer] = await fake.wait_for_messages(1, chat_id=62)
        data = answer["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        fake.push_message("bonjour", user_id=63)
        [elsewhere] = await fake.wait_for_messages(1, chat_id=63)
        fake.push_callback(data, message=elsewhere, user_id=63)
        [_, refused] = await fake.wait_for_messages(2, chat_id=63)
        fake.push_callback(data, message=answer, user_id=62)
        [_, quotes] = await fake.wait_for_messages(2, chat_id=62)
    assert "no longer available" in refused["text"]
    assert "<blockquote>" in last_sent_html(fake, 62)[-1] and "[1]" in quotes["text"]


async def test_long_answer_is_split_and_escaped(tmp_path: Path, fake: FakeBotAPI):
    articles = tmp_path / "articles"
    articles.mkdir()
    clause = "le seuil <b> & le « plafond » > 4096 caractères reste une limite & un défi, "
    # One sentence far over Telegram's limit: the extractive answer quotes it whole. Varied words,
    # lower case and without full stops (one sentence), run between the clauses: a clause repeated
    # alone is not prose.
    words = " ".join((*TUMEN_PARAGRAPHS, *ZANZIBAR)).split()
    filler = [w.strip(".!?…").lower() for w in words * 4 if w.strip(".!?…")]
    sentence = "".join(clause + " ".join(filler[8 * i : 8 * i + 8]) + ", " for i in range(120))
    (articles / "long.txt").write_text("Un titre\n\nAinsi " + sentence + "et voilà.", encoding="utf-8")
    settings = make_settings(tmp_path, articles_dir=articles, chunk_min_chars=3000, chunk_max_chars=20000)
    engine = Engine(settings, encoders=fake_encoders())
    engine.index()
    async with running_bot(bot_settings(settings, fake), engine, fake):
        fake.push_message("seuil plafond limite", user_id=9)
        await fake.wait_for(lambda: any(m.get("reply_markup") for m in fake.sent_messages(9)))
        messages = fake.sent_messages(9)
    assert not fake.rejected(), fake.rejected()
    assert len(messages) >= 3
    assert all(len(m["text"].encode("utf-16-le")) // 2 <= 4096 for m in messages)
    # Pieces are cut at spaces and sent stripped: compare without whitespace.
    joined = "".join("".join(m["text"].split()) for m in messages)
    assert joined.count("<b>&le«plafond»>4096") == 120  # article text arrives escaped, not as markup
    assert messages[-1]["reply_markup"] and not any(m.get("reply_markup") for m in messages[:-1])


async def test_html_refused_by_telegram_is_resent_as_plain_text(fake_engine: Engine, fake: FakeBotAPI):
    fake.fail_next_with("sendMessage", status=400, description="Bad Request: can't parse entities: test")
    async with running_bot(bot_settings(fake_engine.settings, fake), fake_engine, fake):
        fake.push_message("sanctions", user_id=10)
        [msg] = await fake.wait_for_messages(1, chat_id=10)
    plain = [c for c in fake.calls_to("sendMessage") if c.ok]
    assert plain and "parse_mode" not in plain[0].params
    assert "[1]" in msg["text"] and "<b>" not in msg["text"]


async def test_question_length_cap(fake_engine: Engine, fake: FakeBotAPI):
    async with running_bot(bot_settings(fake_engine.settings, fake, max_question_chars=50), fake_engine, fake):
        fake.push_message("pourquoi " * 20, user_id=11)
        [msg] = await fake.wait_for_messages(1, chat_id=11)
    assert "trop longue" in msg["text"] and "la limite est 50" in msg["text"]  # in the question's language
    assert not fake.calls_to("sendChatAction")


# --- groups ------------------------------------------------------------------------------------


async def test_groups_answer_only_when_addressed(fake_engine: Engine, fake: FakeBotAPI):
    group = -100123
    async with running_bot(bot_settings(fake_engine.settings, fake), fake_engine, fake):
        fake.push_message("on parle des sanctions entre nous", user_id=21, chat_id=group, chat_type="supergroup")
        fake.push_message(
            f"@{fake.bot_username} que disent les sanctions ?", user_id=21, chat_id=group, chat_type="supergroup"
        )
        [first] = await fake.wait_for_messages(1, chat_id=group)
        fake.push_message("/ask satellites militaires", user_id=22, chat_id=group, chat_type="supergroup")
        await fake.wait_for_messages(2, chat_id=group)
        fake.push_message("et le traité ?", user_id=23, chat_id=group, chat_type="supergroup", reply_to_message=first)
        await fake.wait_for_messages(3, chat_id=group)
        fake.push_message("/ask", user_id=24, chat_id=group, chat_type="supergroup")
        [*_, usage] = await fake.wait_for_messages(4, chat_id=group)
    assert "Usage: /ask" in usage["text"]
    # The unaddressed first message got nothing: exactly the four replies above.
    assert len(fake.sent_messages(group)) == 4


# --- admin -------------------------------------------------------------------------------------


async def test_reindex_is_refused_to_non_admins_and_nothing_runs(fake_engine: Engine, fake: FakeBotAPI):
    before = current_version(fake_engine.settings.data_dir)
    async with running_bot(bot_settings(fake_engine.settings, fake), fake_engine, fake):
        for user in (5, 1087968824, 777000):
            fake.push_message("/reindex", user_id=user, chat_id=5)
        fake.push_message("/stats", user_id=5)
        msgs = await fake.wait_for_messages(4, chat_id=5)
    assert all("administrators only" in m["text"] for m in msgs)
    assert current_version(fake_engine.settings.data_dir) == before


async def test_admin_reindex_swaps_in_the_new_index(tmp_path: Path, articles_dir: Path, fake: FakeBotAPI):
    embedder = FakeEmbedder()
    engine = Engine(make_settings(tmp_path, articles_dir=articles_dir), encoders=fake_encoders(embedder))
    engine.index()
    before = current_version(engine.settings.data_dir)
    with (articles_dir / "002_3620be85bbcd42ef.txt").open("a", encoding="utf-8") as fh:
        fh.write("\n\nMise à jour : un paragraphe ajouté.\n")  # a change to publish (no change publishes nothing)
    embedder.gate = threading.Event()  # the next build waits here until the test lets it go
    async with running_bot(bot_settings(engine.settings, fake), engine, fake):
        fake.push_message("/reindex", user_id=ADMIN)
        await fake.wait_for(lambda: "Re-indexing the articles" in texts(fake.sent_messages(ADMIN)))
        fake.push_message("/reindex", user_id=ADMIN)
        await fake.wait_for(lambda: "already running" in texts(fake.sent_messages(ADMIN)))
        assert current_version(engine.settings.data_dir) == before  # still serving the old index
        embedder.gate.set()
        await fake.wait_for(lambda: "Re-index done" in texts(fake.sent_messages(ADMIN)))
        fake.push_message("/stats", user_id=ADMIN)
        fake.push_message("Baïkonour", user_id=ADMIN)
        await fake.wait_for(lambda: len(fake.sent_messages(ADMIN)) >= 5)
    said = texts(fake.sent_messages(ADMIN))
    assert said.count("Re-indexing the articles") == 1
    assert said.count("Re-index done: 5 articles") == 1
    after = current_version(engine.settings.data_dir)
    assert after != before
    assert f"snapshot      {after}" in said
    assert not fake.rejected()


async def test_a_failed_reindex_acknowledgement_releases_the_lock(tmp_path: Path, articles_dir: Path, fake: FakeBotAPI):
    """The reply "Re-indexing..." fails (a blocked chat): the lock is released, so the next
    /reindex runs and an upload is not kept waiting for ever (issue 21, item 1)."""
    engine = Engine(make_settings(tmp_path, articles_dir=articles_dir), encoders=fake_encoders())
    engine.index()
    async with running_bot(bot_settings(engine.settings, fake), engine, fake):
        fake.fail_next_with("sendMessage", status=403, description="Forbidden: bot was blocked by the user")
        fake.push_message("/reindex", user_id=ADMIN)
        await fake.wait_for(lambda: "something went wrong" in texts(fake.sent_messages(ADMIN)))
        fake.push_message("/reindex", user_id=ADMIN)
        await fake.wait_for(lambda: "Re-index done" in texts(fake.sent_messages(ADMIN)))
        document = fake.add_file("doc-lock", "pont.txt", NEW_ARTICLE.encode())
        fake.push_message("", user_id=ADMIN, document=document)
        await fake.wait_for(lambda: "Added" in texts(fake.sent_messages(ADMIN)), timeout=30)
    said = texts(fake.sent_messages(ADMIN))
    assert "already running" not in said
    assert said.count("Re-indexing the articles") == 1


# --- load and limits -----------------------------------------------------------------------------


async def test_flood_from_one_user_is_limited_without_blocking_others(fake_engine: Engine, fake: FakeBotAPI):
    settings = bot_settings(fake_engine.settings, fake, rate_limit_questions=3, rate_limit_seconds=3600)
    async with running_bot(settings, fake_engine, fake):
        for _ in range(10):
            fake.push_message("missiles balistiques", user_id=31)
        fake.push_message("satellites", user_id=32)
        await fake.wait_for_messages(1, chat_id=32)
        await fake.wait_for(lambda: len(fake.sent_messages(31)) >= 4)
        fake.push_message("encore une", user_id=31)
        fake.push_message("sanctions", user_id=32)
        await fake.wait_for_messages(2, chat_id=32)
    flood = fake.sent_messages(31)
    notices = [m for m in flood if "faster than I can answer" in m["text"]]
    answers = [m for m in flood if m.get("reply_markup")]
    assert len(answers) == 3 and len(notices) == 1
    assert len(flood) == 4  # everything after the notice is dropped silently


@pytest.mark.parametrize(
    ("command", "budget"),
    [(c, "commands") for c in ("/sources", "/start", "/help", "/new", "/stats", "/reindex")] + [("/ask", "questions")],
)
async def test_a_flood_of_one_command_is_limited_on_its_budget(
    fake_engine: Engine, fake: FakeBotAPI, command: str, budget: str
):
    settings = bot_settings(
        fake_engine.settings, fake, rate_limit_questions=3, rate_limit_commands=3, rate_limit_seconds=3600
    )
    async with running_bot(settings, fake_engine, fake):
        for _ in range(10):
            fake.push_message(command, user_id=33)
        fake.push_message(command, user_id=34)  # someone else is not held back
        await fake.wait_for_messages(1, chat_id=34)
        await fake.wait_for(lambda: len(fake.sent_messages(33)) >= 4)
        fake.push_message("sanctions", user_id=33)  # a question: its own budget, unless /ask spent it
        fake.push_message("/sources", user_id=34)
        await fake.wait_for_messages(2, chat_id=34)
        if budget == "commands":
            await fake.wait_for_messages(5, chat_id=33)
    flood = fake.sent_messages(33)
    notices = [m for m in flood if "faster than I can answer" in m["text"]]
    assert len(notices) == 1, texts(flood)  # three replies, one notice, then silence
    assert len(flood) == (5 if budget == "commands" else 4), texts(flood)


async def test_a_newcomer_s_commands_do_not_use_up_their_questions(fake_engine: Engine, fake: FakeBotAPI):
    """/start, /help, /sources counted as questions: the 6th message was told to slow down
    (issue 21, item 11). Five questions a minute stay five, whatever commands came first."""
    async with running_bot(bot_settings(fake_engine.settings, fake), fake_engine, fake):
        for n, text in enumerate(
            ("/start", "/help", "/sources", "/new", "sanctions", "missiles", "traité", "satellites", "Kim")
        ):
            fake.push_message(text, user_id=37)
            await fake.wait_for_messages(n + 1, chat_id=37)  # one at a time: each gets its reply
        fake.push_message("a sixth question", user_id=37)
        await fake.wait_for_messages(10, chat_id=37)
    sent = fake.sent_messages(37)
    assert not any("faster than I can answer" in m["text"] for m in sent[:9]), texts(sent)
    assert "faster than I can answer" in sent[9]["text"]  # the sixth question is over the limit


async def test_the_sources_button_draws_on_the_commands_budget(fake_engine: Engine, fake: FakeBotAPI):
    settings = bot_settings(
        fake_engine.settings, fake, rate_limit_questions=1, rate_limit_commands=3, rate_limit_seconds=3600
    )
    async with running_bot(settings, fake_engine, fake):
        fake.push_message("traité de partenariat", user_id=35)  # the one question allowed
        [answer] = await fake.wait_for_messages(1, chat_id=35)
        data = answer["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        for _ in range(10):
            fake.push_callback(data, message=answer, user_id=35)
        await fake.wait_for(lambda: len(fake.calls_to("answerCallbackQuery")) == 10)
        fake.push_message("/new", user_id=36)
        await fake.wait_for_messages(1, chat_id=36)
    sent = fake.sent_messages(35)
    sources = [m for m in sent if m is not answer and "faster than I can answer" not in m["text"]]
    notices = [m for m in sent if "faster than I can answer" in m["text"]]
    assert len(sources) == 3 and len(notices) == 1, texts(sent)  # three presses answered, then a notice
    assert all(c.ok for c in fake.calls_to("answerCallbackQuery"))  # every press is acknowledged


async def test_an_edited_message_is_not_answered_again(fake_engine: Engine, fake: FakeBotAPI):
    """Editing a question (or a command) was a second question (issue 21, item 11)."""
    async with running_bot(bot_settings(fake_engine.settings, fake), fake_engine, fake):
        fake.push_message("sanctions", user_id=38)
        await fake.wait_for_messages(1, chat_id=38)
        asked = fake.current_message(38, 1)  # the user's message, the first in the chat
        for text in ("sanctions économiques", "/sources", "/reindex"):
            fake.push_update({"edited_message": {**asked, "text": text, "edit_date": asked["date"] + 5}})
        fake.push_message("/help", user_id=38)
        await fake.wait_for_messages(2, chat_id=38)
    sent = fake.sent_messages(38)
    assert len(sent) == 2 and "Hello" in sent[1]["text"], texts(sent)


async def test_429_is_retried_after_retry_after(fake_engine: Engine, fake: FakeBotAPI):
    fake.fail_next("sendMessage", times=2, retry_after=1)
    async with running_bot(bot_settings(fake_engine.settings, fake), fake_engine, fake):
        fake.push_message("sanctions", user_id=41)
        [msg] = await fake.wait_for_messages(1, chat_id=41, timeout=30)
    calls = fake.calls_to("sendMessage")
    assert [c.ok for c in calls] == [False, False, True]
    assert "429" not in msg["text"] and "[1]" in msg["text"]


async def test_twenty_users_at_once_all_get_answers(fake_engine: Engine, fake: FakeBotAPI):
    users = list(range(100, 120))
    questions = ["traité", "sanctions", "satellites", "Baïkonour", "munitions"]
    async with running_bot(bot_settings(fake_engine.settings, fake), fake_engine, fake):
        for i, user in enumerate(users):
            fake.push_message(questions[i % len(questions)], user_id=user)
        await fake.wait_for(lambda: all(fake.sent_messages(u) for u in users), timeout=60)
    for user in users:
        [answer] = fake.sent_messages(user)
        assert "[1]" in answer["text"] and answer["reply_markup"]
    assert not fake.rejected()


# --- failures --------------------------------------------------------------------------------------


class FailingEmbedder(FakeEmbedder):
    """The model process failing (out of memory, a crashed runtime) while ``broken`` is set."""

    broken = False

    def encode(self, texts):
        if self.broken:
            raise RuntimeError("the model runtime crashed")
        return super().encode(texts)


async def test_errors_reach_the_user_and_the_bot_keeps_going(tmp_path: Path, fake: FakeBotAPI):
    embedder = FailingEmbedder()
    engine = Engine(make_settings(tmp_path), encoders=fake_encoders(embedder))
    engine.index()
    async with running_bot(bot_settings(engine.settings, fake), engine, fake):
        embedder.broken = True
        fake.push_message("sanctions", user_id=51)
        [err] = await fake.wait_for_messages(1, chat_id=51)
        embedder.broken = False
        fake.push_message("sanctions", user_id=51)
        [_, ok] = await fake.wait_for_messages(2, chat_id=51)
    assert "something went wrong" in err["text"]
    assert "[1]" in ok["text"]


async def test_a_damaged_pointer_is_named_and_the_bot_recovers_with_it(fake_engine: Engine, fake: FakeBotAPI):
    data = fake_engine.settings.data_dir
    good = current_version(data)
    async with running_bot(bot_settings(fake_engine.settings, fake), fake_engine, fake):
        (data / POINTER).write_text("no-such-snapshot\n")
        fake.push_message("sanctions", user_id=51)
        [err] = await fake.wait_for_messages(1, chat_id=51)
        (data / POINTER).write_text(good + "\n")
        fake.push_message("sanctions", user_id=51)
        [_, ok] = await fake.wait_for_messages(2, chat_id=51)
    assert "cannot be used right now" in err["text"] and "/reindex" in err["text"]
    assert "[1]" in ok["text"]


async def test_the_token_never_reaches_the_logs(fake_engine: Engine, fake: FakeBotAPI, capfd: pytest.CaptureFixture):
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    setup_logging(logging.DEBUG)
    try:
        async with running_bot(bot_settings(fake_engine.settings, fake), fake_engine, fake):
            fake.push_message("sanctions", user_id=61)
            await fake.wait_for_messages(1, chat_id=61)
    finally:  # a handler left on this test's captured stderr would break later tests' logging
        root.handlers[:] = saved
        root.setLevel(level)
        logging.captureWarnings(False)
    err = capfd.readouterr().err
    assert "getUpdates" in err or "sendMessage" in err  # debug logging did run
    assert fake.token not in err
    assert fake.token.split(":")[1] not in err


async def test_a_bot_api_outage_while_polling_is_one_line_per_retry(
    fake_engine: Engine, fake: FakeBotAPI, caplog: pytest.LogCaptureFixture
):
    fake.fail_next_with("getUpdates", status=502, description="Bad Gateway", times=2)
    with caplog.at_level("WARNING"):
        async with running_bot(bot_settings(fake_engine.settings, fake), fake_engine, fake):
            await fake.wait_for(lambda: [c.ok for c in fake.calls_to("getUpdates")][:3] == [False, False, True])
            fake.push_message("sanctions", user_id=62)
            await fake.wait_for_messages(1, chat_id=62)  # and the bot still answers
    outage = [r for r in caplog.records if "Bad Gateway" in r.getMessage()]
    assert len(outage) == 2 and all(r.exc_info is None for r in outage), caplog.text
    assert all(r.levelno == logging.WARNING and "\n" not in r.getMessage() for r in outage)


async def test_an_html_error_page_while_polling_is_one_short_line_per_retry(
    fake_engine: Engine, fake: FakeBotAPI, caplog: pytest.LogCaptureFixture
):
    page = b"<html>\n<head><title>502 Bad Gateway</title></head>\n" + b"<p>upstream line</p>\n" * 20 + b"</html>\n"
    fake.fail_next_raw("getUpdates", status=502, body=page, content_type="text/html", times=2)
    with caplog.at_level("WARNING"):
        async with running_bot(bot_settings(fake_engine.settings, fake), fake_engine, fake):
            fake.push_message("sanctions", user_id=63)
            await fake.wait_for_messages(1, chat_id=63)  # the bot got past the outage and answers
    assert [c.ok for c in fake.calls_to("getUpdates")][:2] == [False, False]
    assert not [r for r in caplog.records if r.exc_info], caplog.text
    outage = [r for r in caplog.records if "Bad Gateway" in r.getMessage()]
    assert len(outage) == 2 and "upstream line" not in caplog.text, caplog.text
    assert all("not a JSON object" in r.getMessage() and "\n" not in r.getMessage() for r in outage)


def test_serve_without_a_token_says_what_to_do(tmp_path: Path):
    from typer.testing import CliRunner

    from bot.cli import CliContext, app

    ctx = CliContext(make_settings(tmp_path), fake_encoders())
    result = CliRunner().invoke(app, ["serve"], obj=ctx)
    assert result.exit_code == 2  # a settings problem, as the README says
    assert "RAGBOT_TELEGRAM_TOKEN is not set" in result.stderr and "BotFather" in result.stderr


def test_plain_text_rendering_of_html():
    assert html_to_plain("<b>[1]</b> a &lt; b &amp; c") == "[1] a < b & c"


async def test_a_photo_a_voice_message_or_a_sticker_is_told_only_text_is_read(fake_engine: Engine, fake: FakeBotAPI):
    """They got no reply at all. Each gets one line in the user's language; a group's are ignored."""
    photo = {"photo": [{"file_id": "p1", "file_unique_id": "u1", "width": 9, "height": 9}], "caption": "c'est quoi ?"}
    voice = {"voice": {"file_id": "v1", "file_unique_id": "u2", "duration": 3}}
    sticker = {
        "sticker": {
            "file_id": "s1",
            "file_unique_id": "u3",
            "type": "regular",
            "width": 9,
            "height": 9,
            "is_animated": False,
            "is_video": False,
        }
    }
    async with running_bot(bot_settings(fake_engine.settings, fake), fake_engine, fake):
        for user, (body, language, chat_type) in enumerate(
            [(photo, "fr", "private"), (voice, "en", "private"), (sticker, "en", "private"), (photo, "en", "group")],
            start=91,
        ):
            chat = {
                "id": user,
                "type": chat_type,
                **({"first_name": "Ann"} if chat_type == "private" else {"title": "G"}),
            }
            sender = {"id": user, "is_bot": False, "first_name": "Ann", "language_code": language}
            fake.push_update({"message": {"message_id": 1, "from": sender, "chat": chat, "date": 0, **body}})
        said = [(await fake.wait_for_messages(1, chat_id=user))[0]["text"] for user in (91, 92, 93)]
        fake.push_message("aide réciproque en cas d'attaque", user_id=95)  # the updates before it are handled
        await fake.wait_for_messages(1, chat_id=95)
    assert said == [FR.not_text, EN.not_text, EN.not_text]
    assert fake.sent_messages(94) == []


async def test_asking_for_the_sources_shows_the_last_answer_s_passages_else_the_articles(
    fake_engine: Engine, fake: FakeBotAPI
):
    """ "sources ?" was welcomed as a question about the bot. After an answer it shows what its
    Sources button shows; with no answer to source (none yet, a refusal, /new), the articles."""
    settings = bot_settings(fake_engine.settings, fake, rate_limit_questions=20)
    async with running_bot(settings, fake_engine, fake):
        said = []
        for message in (
            "sources ?",
            "aide réciproque en cas d'attaque",
            "Where does this come from?",
            "Que pense Macron de la visite ?",  # the seeds never name Macron: refused
            "sources?",
            "aide réciproque en cas d'attaque",
            "/new",
            "D'où ça vient ?",
        ):  # one at a time: replies in order
            fake.push_message(message, user_id=81)
            said.append((await fake.wait_for_messages(len(said) + 1, chat_id=81))[-1]["text"])
    before, answer, sourced, refused, after_refusal, _, _, after_new = said
    assert before.startswith("5 articles indexed") and after_refusal.startswith("5 articles indexed")
    assert after_new.startswith("5 articles indexés")  # in the language written, as any reply
    # headed in the answer's language, as the button's view is
    assert "[1]" in answer and sourced.startswith("Passages cités") and "aide réciproque" in sourced
    assert refused.startswith("Je n’ai pas trouvé")


async def test_more_in_a_chat_says_its_own_words_when_it_has_nothing_to_quote(fake_engine: Engine, fake: FakeBotAPI):
    """ "Tell me more" with nothing asked, or when all was told, was shown as "I could not find this in the
    articles": every reply quoting nothing was read as a refusal."""
    settings = bot_settings(fake_engine.settings, fake, rate_limit_questions=30)
    async with running_bot(settings, fake_engine, fake):
        fake.push_message("tell me more", user_id=83)
        [first] = await fake.wait_for_messages(1, chat_id=83)
        fake.push_message("Que prévoit le traité ?", user_id=83)
        said = [(await fake.wait_for_messages(2, chat_id=83))[-1]["text"]]
        while len(said) < 12 and said[-1] != NOTHING_MORE["fr"]:
            fake.push_message("et encore ?", user_id=83)
            said.append((await fake.wait_for_messages(len(said) + 2, chat_id=83))[-1]["text"])
    assert first["text"] == NOTHING_YET["en"]
    assert said[-1] == NOTHING_MORE["fr"] and all("[1]" in text for text in said[:-1]), said


async def test_follow_ups_are_per_chat_and_new_forgets(fake_engine: Engine, fake: FakeBotAPI):
    async with running_bot(bot_settings(fake_engine.settings, fake), fake_engine, fake):
        fake.push_message("aide réciproque en cas d'attaque", user_id=71)
        await fake.wait_for_messages(1, chat_id=71)
        fake.push_message("and what did Kim say about it?", user_id=71)
        await fake.wait_for_messages(2, chat_id=71)
        assert fake_engine.conversations.previous(71).startswith("aide réciproque en cas d'attaque and what")
        assert fake_engine.conversations.previous(72) is None  # another chat has its own memory
        fake.push_message("/new", user_id=71)
        [*_, reset] = await fake.wait_for_messages(3, chat_id=71)
    assert "New conversation" in reset["text"]
    assert fake_engine.conversations.previous(71) is None


# --- admins add articles by sending documents ----------------------------------------------------

NEW_ARTICLE = (
    "Un pont ferroviaire sur le fleuve Toumen\n\n"
    "La Russie et la Corée du Nord ont inauguré un pont ferroviaire sur le fleuve Toumen, "
    "selon les autorités des deux pays. Le pont doit faciliter le transport de marchandises."
)


async def test_admin_uploads_a_document_and_it_is_searchable(tmp_path: Path, fake: FakeBotAPI, articles_dir: Path):
    engine = Engine(make_settings(tmp_path, articles_dir=articles_dir), encoders=fake_encoders())
    engine.index()
    # Telegram stores the file under its own path; the name the sender gave is attacker-controlled.
    document = {**fake.add_file("doc-1", "pont_toumen.txt", NEW_ARTICLE.encode()), "file_name": "../../pont_toumen.txt"}
    async with running_bot(bot_settings(engine.settings, fake), engine, fake):
        fake.push_message("", user_id=ADMIN, document=document)
        [reply] = await fake.wait_for_messages(1, chat_id=ADMIN)
        assert "Added" in reply["text"] and "pont_toumen" in reply["text"] and "6 articles" in reply["text"]
        fake.push_message("pont ferroviaire fleuve Toumen", user_id=ADMIN)
        [_, answer] = await fake.wait_for_messages(2, chat_id=ADMIN)
    assert "Toumen" in answer["text"]
    assert (articles_dir / "pont_toumen.txt").is_file()  # the "../../" of the upload's name is dropped


async def test_uploads_are_refused_to_non_admins_and_bad_files_say_why(
    tmp_path: Path, fake: FakeBotAPI, articles_dir: Path
):
    settings = make_settings(tmp_path, articles_dir=articles_dir)
    engine = Engine(settings, encoders=fake_encoders())
    engine.index()
    before = sorted(p.name for p in articles_dir.iterdir())
    good = fake.add_file("doc-1", "pont.txt", NEW_ARTICLE.encode())
    binary = fake.add_file("doc-2", "photo.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    duplicate = fake.add_file("doc-3", "copie.txt", (articles_dir / f"{TREATY_ARTICLE}.txt").read_bytes())
    pdf = fake.add_file("doc-4", "rapport.pdf", b"%PDF-1.4")
    async with running_bot(bot_settings(settings, fake), engine, fake):
        fake.push_message("", user_id=5, document=good)
        [refusal] = await fake.wait_for_messages(1, chat_id=5)
        for i, doc in enumerate((binary, duplicate, pdf), start=1):  # one at a time: replies in order
            fake.push_message("", user_id=ADMIN, document=doc)
            replies = await fake.wait_for_messages(i, chat_id=ADMIN)
    assert "administrators only" in refusal["text"]
    said = texts(replies)
    assert said.count("Not added") == 3
    assert "binary" in said and "duplicate of" in said and ".txt, .md and .html" in said
    assert sorted(p.name for p in articles_dir.iterdir()) == before
    assert not any(c.method.lower() == "downloadfile" and c.params.get("file_id") == "doc-1" for c in fake.calls)


async def test_an_admin_adds_an_article_by_sending_its_link_and_others_are_told_links_are_not_opened(
    tmp_path: Path, fake: FakeBotAPI, articles_dir: Path
):
    """A link sent to the bot was searched as a question and answered with whatever passage came first.
    An admin's link, in a private chat, adds the article it points to (fetched with ``ragbot add``'s
    guards, then re-indexed) and says why one could not be; anyone else's is not opened."""
    page = f"<html><head><title>Le pont du Toumen</title></head><body><p>{NEW_ARTICLE}</p></body></html>"
    routes = {"/pont.html": ("text/html; charset=utf-8", page.encode()), "/photo": ("image/png", b"\x89PNG")}
    with web_server(routes) as (site, asked):
        # the test server is on 127.0.0.1: allowed here, as RAGBOT_ALLOW_PRIVATE_URLS allows it
        settings = make_settings(tmp_path, articles_dir=articles_dir, allow_private_urls=True)
        engine = Engine(settings, encoders=fake_encoders())
        engine.index()
        async with running_bot(bot_settings(settings, fake), engine, fake):
            fake.push_message(f"{site}/pont.html", user_id=5, language_code="fr")
            [not_opened] = await fake.wait_for_messages(1, chat_id=5)
            fake.push_message(f"@ragbot_test_bot {site}/pont.html", user_id=ADMIN, chat_type="group")
            [in_group] = await fake.wait_for_messages(1, chat_id=-1_000_000_000_000 - ADMIN)
            assert asked == []  # nothing was fetched for someone who may not add articles, nor in a group
            fake.push_message(f"{site}/pont.html", user_id=ADMIN)
            [added] = await fake.wait_for_messages(1, chat_id=ADMIN)
            fake.push_message(f"<{site}/photo>", user_id=ADMIN)
            [_, refused] = await fake.wait_for_messages(2, chat_id=ADMIN)
            fake.push_message("pont ferroviaire fleuve Toumen", user_id=ADMIN)
            [*_, answer] = await fake.wait_for_messages(3, chat_id=ADMIN)
    assert not_opened["text"] == FR.link_not_read  # the account's language: an address tells none
    assert in_group["text"] == EN.link_in_group
    assert "Added" in added["text"] and "Le pont du Toumen" in added["text"] and "6 articles" in added["text"]
    assert "Not added" in refused["text"] and "image/png" in refused["text"], refused["text"]
    assert "Toumen" in answer["text"] and "[1]" in answer["text"]
    assert len([p for p in articles_dir.iterdir() if p.suffix == ".html"]) == 1


async def test_an_admin_removes_an_article_by_the_id_sources_shows_them(
    tmp_path: Path, fake: FakeBotAPI, articles_dir: Path
):
    """An article added by mistake from Telegram could only be removed from a shell. /remove takes the
    id /sources shows an admin (and only an admin); the next answer leaves the article out."""
    engine = Engine(make_settings(tmp_path, articles_dir=articles_dir), encoders=fake_encoders())
    engine.index()
    before = sorted(p.name for p in articles_dir.iterdir())
    async with running_bot(bot_settings(engine.settings, fake), engine, fake):
        fake.push_message("/sources", user_id=5)
        [listed] = await fake.wait_for_messages(1, chat_id=5)
        fake.push_message("/remove " + TREATY_ARTICLE, user_id=5)
        [_, refused] = await fake.wait_for_messages(2, chat_id=5)
        fake.push_message("aide réciproque en cas d'attaque", user_id=ADMIN)
        [quoted] = await fake.wait_for_messages(1, chat_id=ADMIN)
        commands = ("/sources", "/remove", "/remove ../../etc/passwd", "/remove no_such_article")
        for i, command in enumerate((*commands, "/remove " + TREATY_ARTICLE), start=2):  # one at a time: in order
            fake.push_message(command, user_id=ADMIN)
            replies = await fake.wait_for_messages(i, chat_id=ADMIN)
        fake.push_message("aide réciproque en cas d'attaque", user_id=ADMIN)
        [*_, answer] = await fake.wait_for_messages(7, chat_id=ADMIN)
    admin_list, usage, outside, unknown, removed = (r["text"] for r in replies[1:])
    assert TREATY_ARTICLE not in listed["text"] and TREATY_ARTICLE in admin_list  # ids for admins only
    assert "administrators only" in refused["text"]
    assert usage == EN.remove_usage
    assert outside == EN.remove_unknown.format(id="../../etc/passwd") and str(tmp_path) not in outside
    assert unknown == EN.remove_unknown.format(id="no_such_article")
    assert removed.startswith(f"Removed {TREATY_ARTICLE}. Index now: 4 articles"), removed
    assert sorted(p.name for p in articles_dir.iterdir()) == [n for n in before if not n.startswith(TREATY_ARTICLE)]
    assert "aide réciproque" in quoted["text"] and "aide réciproque" not in answer["text"], answer["text"]


async def test_an_admins_link_to_a_private_address_is_refused_and_never_fetched(
    tmp_path: Path, fake: FakeBotAPI, articles_dir: Path
):
    with web_server({"/pont.html": ("text/html; charset=utf-8", b"<p>secret</p>")}) as (site, asked):
        engine = Engine(make_settings(tmp_path, articles_dir=articles_dir), encoders=fake_encoders())
        engine.index()
        before = sorted(p.name for p in articles_dir.iterdir())
        async with running_bot(bot_settings(engine.settings, fake), engine, fake):
            fake.push_message(f"{site}/pont.html", user_id=ADMIN)
            [refused] = await fake.wait_for_messages(1, chat_id=ADMIN)
    assert refused["text"].startswith("Not added:") and "127.0.0.1" in refused["text"], refused["text"]
    assert asked == [] and sorted(p.name for p in articles_dir.iterdir()) == before


@pytest.mark.parametrize(
    ("size", "cap"),
    [
        (30 * 1024 * 1024, 5_000_000),  # over the Bot API's 20 MB: getFile refuses it
        (40_000, 10_000),  # under it: getFile serves it, also without a size, and only the download tells
    ],
    ids=["30MB", "download-over-cap"],
)
async def test_an_upload_without_a_declared_size_is_refused_as_too_large(
    tmp_path: Path, fake: FakeBotAPI, articles_dir: Path, size: int, cap: int
):
    settings = make_settings(tmp_path, articles_dir=articles_dir, max_article_bytes=cap)
    engine = Engine(settings, encoders=fake_encoders())
    engine.index()
    before = sorted(p.name for p in articles_dir.iterdir())
    body = (NEW_ARTICLE + "\n\n") * (size // len(NEW_ARTICLE.encode()) + 1)
    document = fake.add_file("big-1", "gros.txt", body.encode()[:size], declare_size=False)
    assert "file_size" not in document
    async with running_bot(bot_settings(settings, fake), engine, fake):
        fake.push_message("", user_id=ADMIN, document=document)
        [reply] = await fake.wait_for_messages(1, chat_id=ADMIN)
        fake.push_message("", user_id=ADMIN, document={**document, "file_size": size})  # declared: no download
        [_, declared] = await fake.wait_for_messages(2, chat_id=ADMIN)
    assert "too large" in reply["text"] and f"{cap:,}" in reply["text"], reply["text"]
    assert "too large" in declared["text"]
    assert len(fake.calls_to("getFile")) == 1
    assert sorted(p.name for p in articles_dir.iterdir()) == before


async def test_a_file_server_that_never_finishes_is_a_clear_timeout_for_each_upload(
    tmp_path: Path, fake: FakeBotAPI, articles_dir: Path, caplog: pytest.LogCaptureFixture
):
    settings = make_settings(tmp_path, articles_dir=articles_dir)
    engine = Engine(settings, encoders=fake_encoders())
    engine.index()
    before = sorted(p.name for p in articles_dir.iterdir())
    # "hang": no answer at all (the per-read timeout); "drip": a byte every 50 ms (only the overall deadline)
    hang = fake.add_file("slow-1", "lent.txt", NEW_ARTICLE.encode(), stall="hang")
    drip = fake.add_file("slow-2", "goutte.txt", NEW_ARTICLE.encode(), stall="drip")
    with caplog.at_level("WARNING"):
        async with running_bot(bot_settings(settings, fake, telegram_download_seconds=0.5), engine, fake):
            fake.push_message("", user_id=ADMIN, document=hang)
            fake.push_message("", user_id=ADMIN, document=drip, language_code="fr")
            replies = await fake.wait_for_messages(2, chat_id=ADMIN)
    said = texts(replies)
    assert "re-index" not in said.lower() and "réindexation" not in said.lower(), said
    assert "Not added: downloading it from Telegram took longer than 0.5 s; please send it again" in said, said
    assert "Non ajouté : son téléchargement depuis Telegram a pris plus de 0.5 s ; renvoyez-le" in said, said
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info], caplog.text
    assert sum("not downloaded" in r.getMessage() for r in caplog.records) == 2, caplog.text
    assert fake.token.split(":")[1] not in caplog.text
    assert sorted(p.name for p in articles_dir.iterdir()) == before


async def test_a_slow_download_holds_no_lock_another_upload_and_reindex_go_ahead(
    tmp_path: Path, fake: FakeBotAPI, articles_dir: Path
):
    settings = make_settings(tmp_path, articles_dir=articles_dir)
    engine = Engine(settings, encoders=fake_encoders())
    engine.index()
    hang = fake.add_file("slow-1", "lent.txt", b"never read", stall="hang")
    good = fake.add_file("doc-1", "pont_toumen.txt", NEW_ARTICLE.encode())
    async with running_bot(bot_settings(settings, fake, telegram_download_seconds=3), engine, fake):
        fake.push_message("", user_id=ADMIN, document=hang)
        await fake.wait_for(lambda: any(c.error == "stalled" for c in fake.calls_to("downloadFile")))
        fake.push_message("", user_id=ADMIN, document=good)  # while the first is still downloading
        [added] = await fake.wait_for_messages(1, chat_id=ADMIN)
        fake.push_message("/reindex", user_id=ADMIN)
        replies = await fake.wait_for_messages(4, chat_id=ADMIN)  # + re-index started, done; the timeout
    said = texts(replies)
    assert "Added" in added["text"] and "6 articles" in added["text"], said
    assert "already running" not in said, said
    assert "Re-indexing" in said and "Re-index done" in said and "took longer than 3 s" in said, said
    assert (articles_dir / "pont_toumen.txt").is_file() and not (articles_dir / "lent.txt").exists()


async def test_a_file_server_error_is_a_clear_reply_not_a_generic_one(
    tmp_path: Path, fake: FakeBotAPI, articles_dir: Path, caplog: pytest.LogCaptureFixture
):
    settings = make_settings(tmp_path, articles_dir=articles_dir)
    engine = Engine(settings, encoders=fake_encoders())
    engine.index()
    document = fake.add_file("gone-1", "parti.txt", NEW_ARTICLE.encode())
    fake.fail_next_with("getFile", status=400, description="Bad Request: file is temporarily unavailable")
    with caplog.at_level("WARNING"):
        async with running_bot(bot_settings(settings, fake), engine, fake):
            fake.push_message("", user_id=ADMIN, document=document)
            [reply] = await fake.wait_for_messages(1, chat_id=ADMIN)
    assert reply["text"] == "Not added: it could not be downloaded from Telegram; please send it again"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info], caplog.text


async def test_without_an_index_the_bot_says_so(tmp_path: Path, fake: FakeBotAPI):
    engine = Engine(make_settings(tmp_path), encoders=fake_encoders())  # never indexed
    async with running_bot(bot_settings(engine.settings, fake), engine, fake):
        for text in ("/start", "/sources", "/stats", "sanctions"):
            fake.push_message(text, user_id=ADMIN)
        messages = await fake.wait_for_messages(4, chat_id=ADMIN)
    assert all("not built yet" in m["text"] for m in messages)


async def test_a_damaged_index_is_named_not_a_generic_error(tmp_path: Path, fake: FakeBotAPI):
    """A snapshot that fails its checks is refused; the bot says an admin can /reindex, in every reply."""
    engine = Engine(make_settings(tmp_path), encoders=fake_encoders())
    engine.index()
    current = (engine.settings.data_dir / "CURRENT").read_text(encoding="utf-8").strip()
    manifest = engine.settings.data_dir / "snapshots" / current / "manifest.json"
    manifest.write_text("[]", encoding="utf-8")
    fresh = Engine(engine.settings, encoders=fake_encoders())  # a new process: nothing cached
    async with running_bot(bot_settings(fresh.settings, fake), fresh, fake):
        for text in ("/sources", "/stats", "sanctions"):
            fake.push_message(text, user_id=ADMIN)
        messages = await fake.wait_for_messages(3, chat_id=ADMIN)
    assert all("cannot be used right now" in m["text"] and "/reindex" in m["text"] for m in messages), messages
