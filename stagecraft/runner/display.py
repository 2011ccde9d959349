"""Live progress of a run, driven by runner events: a rich table per host on a terminal, plain lines
in CI logs (no TTY), nothing with --quiet."""

from __future__ import annotations

import sys
import threading


class Display:
    def __init__(self, mode: str = "auto", title: str = "", stream=None):
        self.stream = stream or sys.stderr
        if mode == "auto":
            mode = "live" if self.stream.isatty() else "plain"
        self.mode = mode
        self.title = title
        self.hosts: dict[str, dict] = {}
        self._live = None
        self._lock = threading.Lock()

    def __enter__(self):
        if self.mode == "live":
            from rich.console import Console
            from rich.live import Live

            self._live = Live(self._table(), console=Console(file=self.stream), refresh_per_second=8, transient=False)
            self._live.__enter__()
        elif self.mode == "plain" and self.title:
            self._print(f"== {self.title}")
        return self

    def __exit__(self, *exc):
        if self._live is not None:
            self._live.update(self._table())
            self._live.__exit__(*exc)
        elif self.mode == "plain":
            for host in sorted(self.hosts):
                r = self.hosts[host]
                self._print(f"  {host}: ok={r['ok']} changed={r['changed']} failed={r['failed']} "
                            f"unreachable={r['unreachable']} skipped={r['skipped']}")
        return False

    def _print(self, line: str) -> None:
        print(line, file=self.stream, flush=True)

    def _row(self, host: str) -> dict:
        return self.hosts.setdefault(host, {"task": "", "ok": 0, "changed": 0, "failed": 0, "unreachable": 0,
                                            "skipped": 0})

    def on_event(self, record: dict) -> None:
        if self.mode == "quiet":
            return
        name, host = record["event"], record.get("host")
        with self._lock:
            if host:
                row = self._row(host)
                row["task"] = record.get("task") or row["task"]
                if name in ("runner_on_ok", "runner_on_async_ok"):
                    row["ok"] += 1
                    row["changed"] += int(record["changed"])
                elif name == "runner_on_skipped":
                    row["skipped"] += 1
                elif name == "runner_on_unreachable":
                    row["unreachable"] += 1
                elif name in ("runner_on_failed", "runner_on_async_failed") and record["failed"]:
                    row["failed"] += 1
                # Plain mode (CI logs) prints what matters: changes and failures, one line each.
                if self.mode == "plain" and (record["changed"] or record["failed"]):
                    status = "changed" if not record["failed"] else name.replace("runner_on_", "")
                    msg = f": {record['message']}" if record.get("message") else ""
                    self._print(f"  {host}: {status}: {record.get('task')}{msg}")
            if self._live is not None:
                self._live.update(self._table())

    def _table(self):
        from rich.table import Table

        table = Table(title=self.title or None, expand=False)
        for col in ("host", "task", "ok", "changed", "failed", "unreachable"):
            table.add_column(col, justify="right" if col not in ("host", "task") else "left")
        for host in sorted(self.hosts):
            r = self.hosts[host]
            table.add_row(host, r["task"][:60], str(r["ok"]), str(r["changed"]),
                          f"[red]{r['failed']}[/red]" if r["failed"] else "0",
                          f"[red]{r['unreachable']}[/red]" if r["unreachable"] else "0")
        return table
