"""Per-user flood control: a sliding one-minute window per user, kept in memory.

One user flooding the bot must not slow everyone else down. Memory is bounded:
windows of users who went quiet are dropped as new users arrive.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable

WINDOW_SECONDS = 60.0
MAX_TRACKED_USERS = 50_000


class UserThrottle:
    """``allow(user_id)`` is False once a user exceeds ``per_minute`` messages in 60 s."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._windows: OrderedDict[int, deque[float]] = OrderedDict()
        self._warned: set[int] = set()

    def allow(self, user_id: int) -> bool:
        now = self._clock()
        window = self._windows.get(user_id)
        if window is None:
            window = self._windows[user_id] = deque()
            if len(self._windows) > MAX_TRACKED_USERS:
                oldest, _ = self._windows.popitem(last=False)
                self._warned.discard(oldest)
        else:
            self._windows.move_to_end(user_id)
        while window and window[0] <= now - WINDOW_SECONDS:
            window.popleft()
        if len(window) >= self.per_minute:
            return False
        window.append(now)
        self._warned.discard(user_id)
        return True

    def first_refusal(self, user_id: int) -> bool:
        """True once per burst, so the "slow down" note is sent once, not per message."""
        if user_id in self._warned:
            return False
        self._warned.add(user_id)
        return True
