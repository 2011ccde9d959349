"""dotenv files (`env_file`, `dev.env_file`, the output of `secrets.command`), read as python-dotenv
reads them: `KEY=value`, `export KEY=value`, 'single' and "double" quoted values (which may span lines;
double quotes decode \\n, \\t, \\" ...), `#` comments, and ${VAR} / ${VAR:-default} expanded from the
values above and the process environment (the file wins).

One regular expression per binding, and the expansion looks names up in the values so far: python-
dotenv copies every earlier value for every line (quadratic: a 200,000-line file took minutes)."""

from __future__ import annotations

import codecs
import os
import re
from collections import ChainMap
from pathlib import Path

_BINDING = re.compile(r"""
    (?>[^\S\r\n]*)(?>(?:export[^\S\r\n]+)?)
    (?:'(?P<qkey>[^']+)'|(?P<key>(?!')[^=\#\s]+)|(?=\#))  # `export #x` is a comment
    (?>[^\S\r\n]*)
    (?:=(?P<gap>(?>[^\S\r\n]*))
        (?:'(?P<sq>(?:\\.|[^'\\])*)'|"(?P<dq>(?:\\.|[^"\\])*)"|(?P<uq>(?!['"])[^\r\n]*))
    )?
    [^\S\r\n]*(?:\#[^\r\n]*)?
    (?:\r\n|\n|\r|\Z)
""", re.VERBOSE | re.DOTALL)
_SKIP = re.compile(r"(?:\s+|\#[^\r\n]*)*+")  # blank lines, indentation and comment lines
_REST_OF_LINE = re.compile(r"[^\r\n]*(?:\r\n|\n|\r)?")
_COMMENT = re.compile(r"\s+#.*")
_DQ_ESCAPES = re.compile(r"\\[\\'\"abfnrtv]")
_SQ_ESCAPES = re.compile(r"\\[\\']")
_VARIABLE = re.compile(r"\$\{(?P<name>[^}:]*)(?::-(?P<default>[^}]*))?\}")


def _unescape(pattern: re.Pattern, text: str) -> str:
    return pattern.sub(lambda m: codecs.decode(m.group(0), "unicode-escape"), text)


MAX_EXPANDED = 4 << 20  # characters all values may total after ${VAR} expansion (A=${B}${B} doubles)


class EnvTextError(ValueError):
    def __init__(self, line: int, reason: str):
        super().__init__(reason)
        self.line, self.reason = line, reason


def parse(text: str) -> list[tuple[str, str | None, int]]:
    """(key, value or None for a bare KEY, line) in file order; EnvTextError for the first line that
    does not parse (python-dotenv would skip it with a warning, and a secret would silently be missing)."""
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise EnvTextError(line, f"line {line} contains a NUL character, which no variable can hold")
    bindings, bad = _parse(text)
    if bad:
        raise EnvTextError(bad[0], f"line {bad[0]} is not KEY=value (a value with spaces, quotes or '#' "
                                   "needs quotes; an unclosed quote runs to the end of the file)")
    return bindings


def invalid_lines(text: str) -> list[int]:
    return _parse(text)[1]


def _parse(text: str):
    text = text.removeprefix("\ufeff")
    out, bad, pos, line, end = [], [], 0, 1, len(text)
    while True:
        skipped = _SKIP.match(text, pos)
        line += text.count("\n", pos, skipped.end())
        pos = skipped.end()
        if pos >= end:
            return out, bad
        m = _BINDING.match(text, pos)
        if m is None:
            bad.append(line)
            m = _REST_OF_LINE.match(text, pos)
        elif m["qkey"] is not None or m["key"] is not None:
            key = m["qkey"] if m["qkey"] is not None else m["key"]
            if m["sq"] is not None:
                value = _unescape(_SQ_ESCAPES, m["sq"])
            elif m["dq"] is not None:
                value = _unescape(_DQ_ESCAPES, m["dq"])
            elif m["uq"] is not None:
                # `KEY= # note` is empty; `KEY=#x` is '#x'; ` #...` after an unquoted value is a comment
                value = "" if m["gap"] and m["uq"].startswith("#") else _COMMENT.sub("", m["uq"]).rstrip()
            else:
                value = None
            out.append((key, value, line))
        line += text.count("\n", pos, m.end())
        pos = m.end()


def expand(bindings, environ=None) -> dict[str, str]:
    """The values with ${VAR} and ${VAR:-default} replaced from earlier values, then `environ` (default:
    the process environment); an unset variable is empty. A bare KEY (no `=`) unsets KEY. EnvTextError
    when the values grow past MAX_EXPANDED characters."""
    values: dict[str, str | None] = {}
    scope = ChainMap(values, os.environ if environ is None else environ)
    total = 0

    def one(m: re.Match) -> str:
        found = scope.get(m["name"], m["default"])
        return found if found is not None else ""

    for key, value, line in bindings:
        if value is not None and "${" in value:
            value = _VARIABLE.sub(one, value)
            total += len(value)
            if total > MAX_EXPANDED:
                raise EnvTextError(line, f"line {line}: ${{...}} expansion makes the values longer than "
                                         f"{MAX_EXPANDED} characters")
        values[key] = value
    return {k: v for k, v in values.items() if v is not None}


def values_of(text: str, *, interpolate: bool = True, environ=None) -> dict[str, str]:
    """KEY -> value of a dotenv text; EnvTextError for a line that does not parse."""
    bindings = parse(text)
    if interpolate:
        return expand(bindings, environ)
    return {k: v for k, v in dict((k, v) for k, v, _ in bindings).items() if v is not None}


def read(path: str | Path, what: str | None = None, *, interpolate: bool = True, environ=None) -> dict[str, str]:
    """KEY -> value of a dotenv file: a regular UTF-8 file of at most files.MAX_BYTES whose every line
    parses; else FileRefused naming the file (and line)."""
    from ..files import FileRefused, read_text

    try:
        return values_of(read_text(path, what), interpolate=interpolate, environ=environ)
    except EnvTextError as exc:
        raise FileRefused(what, path, exc.reason, line=exc.line) from None
