"""Sending that survives transient failures: flood control (429) and 5xx/network errors.

python-telegram-bot does not retry a failed request by itself, and ``AIORateLimiter``
retries only 429 "Too Many Requests" (after waiting the ``retry_after`` Telegram asks
for). ``RetryingRateLimiter`` wraps an ``AIORateLimiter`` -- so Telegram's rate limits
and 429 handling stay exactly as before -- and adds a few retries with exponential
backoff for failures that may go away by themselves:

* ``telegram.error.NetworkError``: connection refused or reset, 5xx answers from the
  Bot API (PTB raises every status it has no better class for as NetworkError), and
  ``TimedOut`` (a subclass).

Errors that will be the same next time are raised at once, never retried:
``BadRequest`` (400; a NetworkError subclass, hence the explicit check), ``Forbidden``
(403, the user blocked the bot), ``Conflict`` (409), ``InvalidToken``, ``ChatMigrated``
and ``RetryAfter`` once the inner limiter has used up its own 429 retries.

Caveat -- a retry after a timeout can duplicate a message: a request that timed out on
our side may still have reached Telegram and been executed. For a FAQ bot one duplicate
answer is better than a lost one. Updates are never handled twice because of this: the
retry repeats one Bot API request inside the handler, not the handler.

Every request except ``getUpdates`` goes through the rate limiter; PTB's polling loop
retries ``getUpdates`` on its own (with backoff up to 30 s).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram.error import BadRequest, NetworkError
from telegram.ext import AIORateLimiter, BaseRateLimiter

logger = logging.getLogger(__name__)

FLOOD_RETRIES = 3        # 429 retries, done by AIORateLimiter after waiting retry_after
SEND_ATTEMPTS = 4        # tries of one request on transient errors: the first plus 3 retries
FIRST_BACKOFF = 0.5      # seconds before the first retry; doubled each time ...
MAX_BACKOFF = 4.0        # ... up to this (0.5 + 1 + 2 = 3.5 s in all at most)

JSONResult = bool | dict[str, Any] | list[dict[str, Any]]


def is_transient(error: BaseException) -> bool:
    """Worth sending again: network trouble, timeouts and 5xx, but not a 400 Bad Request."""
    return isinstance(error, NetworkError) and not isinstance(error, BadRequest)


class RetryingRateLimiter(BaseRateLimiter[int]):
    """``AIORateLimiter`` plus retries with exponential backoff for transient failures."""

    def __init__(self, inner: BaseRateLimiter | None = None, *, attempts: int = SEND_ATTEMPTS,
                 first_backoff: float = FIRST_BACKOFF, max_backoff: float = MAX_BACKOFF,
                 sleep: Callable[[float], Awaitable[object]] = asyncio.sleep) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self.inner = inner if inner is not None else AIORateLimiter(max_retries=FLOOD_RETRIES)
        self.attempts = attempts
        self.first_backoff = first_backoff
        self.max_backoff = max_backoff
        self._sleep = sleep

    async def initialize(self) -> None:
        await self.inner.initialize()

    async def shutdown(self) -> None:
        await self.inner.shutdown()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSONResult]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> JSONResult:
        backoff = self.first_backoff
        for attempt in range(1, self.attempts + 1):
            try:
                return await self.inner.process_request(callback, args, kwargs, endpoint, data,
                                                        rate_limit_args)
            except NetworkError as exc:
                if not is_transient(exc):
                    raise
                if attempt == self.attempts:
                    logger.warning("%s failed %d times, giving up: %s", endpoint, attempt, exc)
                    raise
                logger.warning("%s failed (%s: %s); retry %d of %d in %.1f s", endpoint,
                               type(exc).__name__, exc, attempt, self.attempts - 1, backoff)
                await self._sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)
        raise AssertionError("unreachable")  # pragma: no cover
