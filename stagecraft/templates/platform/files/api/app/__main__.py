"""python3 -m app serve | worker | dev   (dev: the API and a worker in one process, for `stagecraft dev`)"""

from __future__ import annotations

import signal
import sys
import threading

from . import server, worker
from .settings import Settings


def main(argv: list[str]) -> int:
    mode = argv[0] if argv else "serve"
    if mode not in ("serve", "worker", "dev"):
        print("usage: python3 -m app serve|worker|dev", file=sys.stderr)
        return 2
    settings = Settings.from_env()
    stop = threading.Event()

    def on_signal(signum, _frame):  # as PID 1 in a container nothing stops us unless we handle TERM
        stop.set()
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        if mode == "worker":
            worker.run(settings, stop)
            return 0
        httpd = server.serve(settings)
        if mode == "dev":
            threading.Thread(target=worker.run, args=(settings, stop), daemon=True).start()
        httpd.serve_forever()
    except KeyboardInterrupt:
        print(f"{mode}: stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
