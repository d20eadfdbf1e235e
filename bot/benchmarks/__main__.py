"""Worker processes of the benchmark: ``python -m bot.benchmarks WORKER ARGS...``.

Not a user command; ``run_bot.py bench`` starts these so each measurement gets a
fresh interpreter (memory peaks) or its own CPU (the bot under end-to-end load).
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m bot.benchmarks {kb-worker|bot-worker} ARGS...", file=sys.stderr)
        return 2
    worker, args = argv[0], argv[1:]
    if worker == "kb-worker":
        from bot.benchmarks.matching import kb_worker_main

        return kb_worker_main(args)
    if worker == "bot-worker":
        from bot.benchmarks.e2e import bot_worker_main

        return bot_worker_main(args)
    print(f"unknown worker {worker!r}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
