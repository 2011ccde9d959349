"""Container healthchecks: `python3 -m app.health api` (the API answers) or `... worker` (recent heartbeat)."""

from __future__ import annotations

import os
import sys
import time
import urllib.request

from .worker import HEARTBEAT


def main(what: str) -> int:
    if what == "worker":
        try:
            return 0 if time.time() - HEARTBEAT.stat().st_mtime < 30 else 1
        except OSError:
            return 1
    port = os.environ.get("PORT", "8000")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as resp:
            return 0 if resp.status == 200 else 1
    except OSError:
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "api"))
