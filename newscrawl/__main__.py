"""``python -m newscrawl``: the same as the installed ``newscrawl`` command."""

import sys

from newscrawl.app.cli import main

sys.exit(main())
