"""`python -m bot <command>`: the tools for the people who look after the assistant
(bot/staff/cli.py lists them; `python -m bot --help`)."""

import sys

from bot.staff.cli import main

sys.exit(main())
