"""stagecraft version"""

from __future__ import annotations

import os
import platform

import click

from .. import __version__
from . import output
from .settings import global_options


@click.command(help="""Print the Stagecraft version.

\b
Example:
  stagecraft version -o json
""")
@global_options
def version():
    info = {"stagecraft": os.environ.get("STAGECRAFT_VERSION") or __version__, "python": platform.python_version()}
    output.data(info, lambda d: f"stagecraft {d['stagecraft']}")
