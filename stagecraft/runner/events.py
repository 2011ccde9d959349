"""Turning ansible-runner events into compact records (AWX style) and per-host tallies."""

from __future__ import annotations

FAILED_EVENTS = {"runner_on_failed", "runner_on_unreachable", "runner_on_async_failed", "runner_item_on_failed",
                 "error"}
KEPT_EVENTS = FAILED_EVENTS | {"playbook_on_start", "playbook_on_play_start", "playbook_on_task_start",
                               "playbook_on_stats", "runner_on_ok", "runner_on_skipped", "runner_item_on_ok",
                               "runner_on_async_ok", "warning"}
MAX_MESSAGE = 500


def message_of(event: dict) -> str:
    data = event.get("event_data") or {}
    res = data.get("res") or {}
    if isinstance(res, dict):
        if res.get("censored"):
            return str(res["censored"])[:MAX_MESSAGE]
        for key in ("msg", "stderr", "reason"):
            value = res.get(key)
            if value:
                return str(value).strip()[:MAX_MESSAGE]
    if event.get("event") in ("error", "warning"):
        return (event.get("stdout") or "").strip()[-MAX_MESSAGE:]
    return ""


def compact(event: dict) -> dict | None:
    name = event.get("event")
    if name not in KEPT_EVENTS:
        return None
    data = event.get("event_data") or {}
    res = data.get("res") if isinstance(data.get("res"), dict) else {}
    failed = name in FAILED_EVENTS and not data.get("ignore_errors")
    return {
        "counter": event.get("counter", 0),
        "uuid": event.get("uuid"),
        "parent_uuid": event.get("parent_uuid"),
        "event": name,
        "host": data.get("host"),
        "task": (data.get("task") or "")[:1024] or None,
        "role": (data.get("role") or "")[:1024] or None,
        "changed": bool(res.get("changed")),
        "failed": failed,
        "created": event.get("created"),
        "message": message_of(event) if (failed or name in ("warning", "error")) else "",
    }
