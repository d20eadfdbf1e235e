"""Allow ``python -m bot`` to behave exactly like ``python run_bot.py``."""

import sys

from bot.cli import main

sys.exit(main())
