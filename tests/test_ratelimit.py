from __future__ import annotations

from bot.ratelimit import Decision, RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_one_notice_then_silence_then_refill():
    clock = Clock()
    limiter = RateLimiter(3, 60, clock=clock)
    assert [limiter.check(1) for _ in range(3)] == [Decision.ALLOW] * 3
    assert limiter.check(1) is Decision.NOTIFY
    assert limiter.check(1) is Decision.DROP
    assert limiter.check(1) is Decision.DROP
    clock.now += 20  # one token back (3 per 60 s)
    assert limiter.check(1) is Decision.ALLOW
    assert limiter.check(1) is Decision.NOTIFY  # a new flood gets a new notice


def test_users_are_independent():
    clock = Clock()
    limiter = RateLimiter(2, 60, clock=clock)
    for _ in range(10):
        limiter.check(1)
    assert limiter.check(2) is Decision.ALLOW
    assert limiter.check(2) is Decision.ALLOW


def test_memory_is_bounded():
    limiter = RateLimiter(1, 60, clock=Clock(), max_users=100)
    for user in range(1000):
        limiter.check(user)
    assert len(limiter._buckets) == 100
