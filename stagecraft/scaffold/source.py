"""Where templates come from: built-in (shipped in the wheel), a local directory, or a git URL.

    platform                          built-in (stagecraft/templates/platform)
    ./my-template, /abs/path, ~/t     a directory holding template.yml
    https://host/org/t.git[#ref]      cloned with `git clone --depth 1 [--branch ref]` into a temporary
    git@host:org/t.git, ssh://...     directory that lives as long as the command; file:// works too
    git+https://..., git+file://...   (the `git+` prefix is optional)

`templates list` also shows the templates in the user directory ($STAGECRAFT_TEMPLATES_DIR, else
$XDG_CONFIG_HOME/stagecraft/templates or ~/.config/stagecraft/templates), usable by name.
"""

from __future__ import annotations

import os
import re
import tempfile
from contextlib import contextmanager
from pathlib import Path

from .. import process
from ..errors import ExternalError, UserError
from . import manifest as m

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "templates"
# Templates other commands use internally (init, attach); listed too, but not meant for `new`.
INTERNAL = ("init", "attach", "stagecraft-dir")
_GIT_URL = re.compile(r"^(git\+)?(https?|ssh|git|file)://|^[\w.-]+@[\w.-]+:")


def user_dir() -> Path:
    if os.environ.get("STAGECRAFT_TEMPLATES_DIR"):
        return Path(os.environ["STAGECRAFT_TEMPLATES_DIR"]).expanduser()
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "stagecraft" / "templates"


def is_git_url(ref: str) -> bool:
    return bool(_GIT_URL.match(ref))


def builtin(name: str) -> m.Manifest:
    return _with_includes(m.load(BUILTIN_DIR / name, "built-in"), ())


def available() -> list[m.Manifest]:
    """Built-in templates, then the user directory's (a user template never shadows a built-in one)."""
    out = [builtin(p.name) for p in sorted(BUILTIN_DIR.iterdir()) if (p / m.MANIFEST).is_file()]
    names = {t.name for t in out}
    directory = user_dir()
    if directory.is_dir():
        for path in sorted(directory.iterdir()):
            if (path / m.MANIFEST).is_file() and path.name not in names:
                out.append(_with_includes(m.load(path, str(path)), ()))
    return out


@contextmanager
def open_template(ref: str, *, cwd: Path | None = None):
    """The template `ref` names (with its includes resolved); a git URL is cloned for the duration."""
    if is_git_url(ref):
        url, _, rev = ref.partition("#")
        url = url[4:] if url.startswith("git+") else url
        with tempfile.TemporaryDirectory(prefix="stagecraft-template-") as tmp:
            checkout = Path(tmp) / "template"
            _clone(url, rev, checkout)
            yield _with_includes(m.load(checkout, ref), ())
        return
    yield _local(ref, cwd or Path.cwd())


def _local(ref: str, cwd: Path) -> m.Manifest:
    path = Path(ref).expanduser()
    path = path if path.is_absolute() else cwd / path
    if ("/" in ref or ref.startswith((".", "~"))) and path.is_dir():
        return _with_includes(m.load(path.resolve(), str(path.resolve())), ())
    if re.fullmatch(m.NAME, ref):
        if (BUILTIN_DIR / ref / m.MANIFEST).is_file():
            return builtin(ref)
        if (user_dir() / ref / m.MANIFEST).is_file():
            return _with_includes(m.load(user_dir() / ref, str(user_dir() / ref)), ())
    if path.is_dir():
        return _with_includes(m.load(path.resolve(), str(path.resolve())), ())
    known = ", ".join(t.name for t in available() if t.name not in INTERNAL)
    raise UserError(f"--template: no template '{ref}' (built-in and in {user_dir()}: {known}; "
                    "or give a directory or a git URL)")


def _clone(url: str, rev: str, dest: Path) -> None:
    argv = ["git", "clone", "--quiet", "--depth", "1", *(["--branch", rev] if rev else []), "--", url, str(dest)]
    proc = process.run(argv, what=f"git clone {url}", timeout=300, env={"GIT_TERMINAL_PROMPT": "0"},
                       hint="install git to use templates from git URLs")
    if proc.returncode != 0:
        raise ExternalError(f"--template: cloning {url}{'#' + rev if rev else ''} failed: {process.error_text(proc, 400)}")


def _with_includes(template: m.Manifest, chain: tuple[str, ...]) -> m.Manifest:
    """Resolve `include:`: built-in template names, or directories relative to the template."""
    from dataclasses import replace

    if template.name in chain:
        raise UserError(f"template {template.source}: include cycle: {' -> '.join(chain + (template.name,))}")
    resolved = []
    for ref in template.include:
        local = (template.root / ref).resolve()
        if ref.startswith(".") and (local / m.MANIFEST).is_file():
            if template.root.resolve() not in local.parents and template.source != "built-in":
                raise UserError(f"template {template.source}: include '{ref}' leaves the template's directory")
            inc = m.load(local, str(local))
        elif (BUILTIN_DIR / ref / m.MANIFEST).is_file():
            inc = m.load(BUILTIN_DIR / ref, "built-in")
        else:
            raise UserError(f"template {template.source}: include '{ref}' is neither a built-in template "
                            "nor a directory of this template")
        resolved.append(_with_includes(inc, chain + (template.name,)))
    return replace(template, includes=tuple(resolved))
