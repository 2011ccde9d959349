"""Option types shared by commands: bounded counts and finite seconds (a count past 64 bits cannot reach
SQLite, and `nan` or `inf` seconds cannot reach time.sleep)."""

from __future__ import annotations

import math

import click

COUNT = click.IntRange(min=1, max=1_000_000_000)


class Seconds(click.FloatRange):
    """A finite number of seconds, at least `min`."""

    name = "seconds"

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number of seconds", param, ctx)
        return number
