"""``newscrawl export``: every indexed document as JSON Lines."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from newscrawl.app.cli.common import add_common, settings_from_args
from newscrawl.app.factory import build_index


def run(args: argparse.Namespace) -> int:
    index = build_index(settings_from_args(args))
    for doc in index.export():
        sys.stdout.write(json.dumps(doc.to_dict(), ensure_ascii=False) + "\n")
    index.close()
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("export", help="every indexed article as JSON Lines")
    add_common(p)
    p.set_defaults(func=run)
