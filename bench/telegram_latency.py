"""Update-to-reply latency of the real bot against the fake Bot API, 20 users at once.

    python -m bench.telegram_latency [--users 20] [--fake-embedder]

Prints one JSON object: median/p95 seconds from an update being queued on the fake
server to the bot's reply being received, with and without a 429 on the first replies.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

from bench.stats import percentile
from bot.telegram import build_application
from retrieval import Engine, Settings
from tests.fake_telegram import FakeBotAPI
from tests.support import SEEDS, fake_encoders

QUESTIONS = [
    "What did the treaty include?",
    "Qui a écrit l'article sur Pyongyang ?",
    "What did Putin toast to when he met Kim?",
    "Quelle base spatiale Vostotchny doit-il remplacer ?",
    "What did John Kirby say about North Korean ballistic missiles?",
]


async def _round(engine: Engine, settings: Settings, users: int, fail_429: int) -> dict:
    with FakeBotAPI() as fake:
        bot_settings = settings.with_changes(
            telegram_token=fake.token, telegram_api_url=fake.url, rate_limit_questions=100
        )
        app = build_application(bot_settings, engine)
        await app.initialize()
        await app.start()
        await app.updater.start_polling(poll_interval=0.0, timeout=1)
        try:
            if fail_429:
                fake.fail_next("sendMessage", times=fail_429, retry_after=1)
            ids = {}
            for i in range(users):
                user = 10_000 + i
                ids[user] = fake.push_message(QUESTIONS[i % len(QUESTIONS)], user_id=user)
            await fake.wait_for(lambda: all(fake.sent_messages(u) for u in ids), timeout=300)
            latencies = []
            for user, update_id in ids.items():
                replied = min(c.at for c in fake.calls_to("sendMessage") if c.ok and int(c.params["chat_id"]) == user)
                latencies.append(replied - fake.update_pushed_at[update_id])
            rejected = len([c for c in fake.calls_to("sendMessage") if not c.ok])
        finally:
            await app.updater.stop()
            await app.stop()
            await app.shutdown()
    return {
        "users": users,
        "answered": len(latencies),
        "median_s": round(percentile(latencies, 50), 3),
        "p95_s": round(percentile(latencies, 95), 3),
        "max_s": round(max(latencies), 3),
        "sendMessage_429s": rejected,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--fake-embedder", action="store_true", help="measure the bot alone, not the model")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(_env_file=None, articles_dir=SEEDS, data_dir=Path(tmp) / "data")
        engine = Engine(settings, encoders=fake_encoders()) if args.fake_embedder else Engine(settings)
        engine.index()
        engine.search("warm-up", 5)
        t0 = time.perf_counter()
        normal = await _round(engine, settings, args.users, fail_429=0)
        under_429 = await _round(engine, settings, args.users, fail_429=3)
    print(
        json.dumps(
            {
                "embedder": "fake" if args.fake_embedder else settings.embedding_model,
                "concurrent_users": normal,
                "with_429_retry_after_1s_on_first_3_sends": under_429,
                "wall_s": round(time.perf_counter() - t0, 2),
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
