"""Printing: data as text or JSON on stdout, messages on stderr when stdout carries JSON."""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager

import click

from .settings import settings


def emit_json(data) -> None:
    # allow_nan=False: strict JSON, never NaN or Infinity (a value that is one fails loudly instead)
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str, allow_nan=False))


def emit_json_line(obj) -> None:
    """One JSON object per line, for streams (logs -f -o json)."""
    click.echo(json.dumps(obj, sort_keys=True, default=str, allow_nan=False))


def data(obj, text=None) -> None:
    """Print a command's result: JSON with --output json, else text (a string or a callable returning one)."""
    if settings().json:
        emit_json(obj)
        return
    if callable(text):
        text = text(obj)
    if text is not None:
        click.echo(text.rstrip("\n"))


@contextmanager
def result_on_failure(obj: dict, text=None):
    """A command whose result is worth printing even when it then fails (partial failures, a refusal that
    shows what it refused): text mode prints the result before the error; with --output json the result
    and the error are one document on stdout (the result's keys plus ok, exit_code and errors)."""
    from ..errors import StagecraftError

    try:
        yield
    except StagecraftError as exc:
        if settings().json:
            exc.data = obj
        else:
            data(obj, text)
        raise


def interactive() -> bool:
    """A person can answer a prompt (scripts and CI must pass --yes instead)."""
    return sys.stdin is not None and sys.stdin.isatty()


def info(message: str) -> None:
    """A progress or status line; suppressed by --quiet; on stderr when stdout is JSON."""
    try:
        s = settings()
    except RuntimeError:  # a worker thread has no click context: stderr never corrupts JSON output
        click.echo(message, err=True)
        return
    if s.quiet:
        return
    click.echo(message, err=s.json)


def warn(message: str) -> None:
    click.echo(_style("warning: ", "yellow") + message, err=True)


def error(message: str) -> None:
    click.echo(_style("error: ", "red") + message, err=True)


def _style(text: str, color: str) -> str:
    try:
        use_color = settings().color and sys.stderr.isatty()
    except RuntimeError:  # no click context (errors raised outside a command)
        use_color = False
    return click.style(text, fg=color, bold=True) if use_color else text


def console():
    """A rich console honouring --no-color (imported lazily: rich is slow to import)."""
    from rich.console import Console

    s = settings()
    return Console(no_color=not s.color, stderr=s.json, quiet=s.quiet, highlight=False)
