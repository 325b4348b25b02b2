"""``python -m daemon.cli``: what the ``maskwatch`` script runs."""

import sys

from daemon.cli import main

sys.exit(main())
