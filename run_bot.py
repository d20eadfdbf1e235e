#!/usr/bin/env python3
"""Entry point: ``python run_bot.py [command] [options]`` (see ``--help``)."""

import sys

from bot.cli import main

if __name__ == "__main__":
    sys.exit(main())
