"""Serve the replay web in its own process (so its CPU is not counted as the crawler's).

Prints one JSON line {"proxy": ..., "outlets": PATH, "pages": N} and serves until stdin closes.
Usage: serve_replay.py OUTLETS_PATH [MIX [PAGES_FOLDER]]
(MIX: rich, the default, or lean; PAGES_FOLDER: articles from that folder instead of the shared
corpora; tests/replay.py)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import corpora_path
from tests.replay import build_replay_web


def main() -> None:
    out = Path(sys.argv[1])
    mix = sys.argv[2] if len(sys.argv) > 2 else "rich"
    pages_from = Path(sys.argv[3]) if len(sys.argv) > 3 else None
    # No Crawl-delay: the benchmark measures CPU.
    replay = build_replay_web(corpora_path(), crawl_delay_every=10_000, mix=mix, pages_from=pages_from)
    out.write_text(replay.outlets_toml, "utf-8")
    replay.web.start()
    print(
        json.dumps({"proxy": replay.web.proxy_url, "outlets": str(out), "pages": len(replay.pages)}),
        flush=True,
    )
    sys.stdin.read()
    replay.web.stop()


if __name__ == "__main__":
    main()
