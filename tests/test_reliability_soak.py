"""A 20-second run of the soak (tests/soak.py) with the same bounds as the 10-minute one.

The real run_bot.py process answers 25 questions/s from 200 users while one more user
floods it; every question must be answered exactly once, the flooder throttled, memory
flat. The long version: ``.venv/bin/python -m tests.soak --minutes 10``.
"""

from __future__ import annotations

import sys

import pytest

from tests.soak import USER_RATE_LIMIT, run_soak

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def test_twenty_second_soak_answers_everyone_throttles_the_flooder_and_keeps_memory_flat():
    result = run_soak(20, warmup=5)
    print(result.report())
    assert result.questions >= 450
    assert result.unanswered == 0 and result.duplicated == 0 and not result.failed_sends
    assert result.answered == result.questions
    assert result.flood_answers <= USER_RATE_LIMIT * 2 and result.flood_slow_downs >= 1
    assert result.rss_growth_mb <= result.max_growth_mb
    assert result.latency_p99 <= result.max_p99
    assert result.exit_code == 0 and not result.error_lines
    assert result.ok, result.report()
