"""`python -m tests.load_kill ...`: see tests/load_kill/__init__.py."""

import sys

from tests.load_kill.cli import main

sys.exit(main())
