"""bot.retry.RetryingRateLimiter on its own: which errors are retried, how long it waits."""

from __future__ import annotations

from typing import Any

import pytest
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import AIORateLimiter

from bot.retry import FIRST_BACKOFF, SEND_ATTEMPTS, RetryingRateLimiter, is_transient


class Script:
    """A Bot API call that fails with the given errors, then returns ``result``."""

    def __init__(self, *errors: Exception, result: Any = True) -> None:
        self.errors = list(errors)
        self.result = result
        self.calls = 0

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return self.result


def limiter(sleeps: list[float], **kwargs: Any) -> RetryingRateLimiter:
    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    return RetryingRateLimiter(AIORateLimiter(max_retries=3), sleep=sleep, **kwargs)


async def send(rate_limiter: RetryingRateLimiter, call: Script) -> Any:
    return await rate_limiter.process_request(call, (), {}, "sendMessage", {"chat_id": 1}, None)


async def test_transient_errors_are_retried_with_exponential_backoff():
    sleeps: list[float] = []
    call = Script(NetworkError("Internal Server Error"), TimedOut(), NetworkError("Bad Gateway"),
                  result={"message_id": 7})
    assert await send(limiter(sleeps), call) == {"message_id": 7}
    assert call.calls == 4
    assert sleeps == [FIRST_BACKOFF, FIRST_BACKOFF * 2, FIRST_BACKOFF * 4]


async def test_gives_up_after_the_last_attempt_with_the_last_error():
    sleeps: list[float] = []
    call = Script(*(NetworkError(f"down {n}") for n in range(10)))
    with pytest.raises(NetworkError, match=f"down {SEND_ATTEMPTS - 1}"):
        await send(limiter(sleeps), call)
    assert call.calls == SEND_ATTEMPTS
    assert len(sleeps) == SEND_ATTEMPTS - 1


async def test_backoff_is_capped():
    sleeps: list[float] = []
    call = Script(*(NetworkError("down") for _ in range(10)))
    with pytest.raises(NetworkError):
        await send(limiter(sleeps, attempts=6, first_backoff=1.0, max_backoff=3.0), call)
    assert sleeps == [1.0, 2.0, 3.0, 3.0, 3.0]


@pytest.mark.parametrize("error", [
    BadRequest("Bad Request: can't parse entities"),
    Forbidden("Forbidden: bot was blocked by the user"),
    Conflict("Conflict: terminated by other getUpdates request"),
    InvalidToken("Unauthorized"),
    ChatMigrated(-100123),
])
async def test_permanent_errors_are_raised_at_once(error):
    sleeps: list[float] = []
    call = Script(error)
    with pytest.raises(type(error)):
        await send(limiter(sleeps), call)
    assert call.calls == 1 and sleeps == []
    assert not is_transient(error)


async def test_429_is_still_handled_by_the_inner_limiter():
    sleeps: list[float] = []
    call = Script(RetryAfter(0), result=True)
    assert await send(limiter(sleeps), call) is True
    assert call.calls == 2 and sleeps == []  # AIORateLimiter waited, not the backoff


async def test_429_beyond_the_inner_retries_is_not_retried_again():
    sleeps: list[float] = []
    call = Script(*(RetryAfter(0) for _ in range(10)))
    with pytest.raises(RetryAfter):
        await send(limiter(sleeps), call)
    assert call.calls == 4 and sleeps == []  # 1 + AIORateLimiter's 3 retries


async def test_initialize_and_shutdown_reach_the_inner_limiter():
    events: list[str] = []

    class Inner(AIORateLimiter):
        async def initialize(self) -> None:
            events.append("initialize")

        async def shutdown(self) -> None:
            events.append("shutdown")

    rate_limiter = RetryingRateLimiter(Inner())
    await rate_limiter.initialize()
    await rate_limiter.shutdown()
    assert events == ["initialize", "shutdown"]


def test_attempts_must_be_positive():
    with pytest.raises(ValueError):
        RetryingRateLimiter(attempts=0)
