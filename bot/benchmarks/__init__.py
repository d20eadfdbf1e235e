"""``run_bot.py bench``: speed and memory of the matcher, start-up, the bot end to end and
reminder fan-out. Entry point: ``bot.benchmarks.runner``; worker processes: ``__main__``.

Not imported by the bot itself; the end-to-end parts need the test extra (the fake Bot
API server in ``tests/bot_api_server.py``).
"""
