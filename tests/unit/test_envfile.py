"""dotenv files: python-dotenv's reading of valid files, every invalid line an error with its line,
linear time, and ${VAR} expansion bounded."""

from __future__ import annotations

import io
import logging
import random

import pytest

from stagecraft.config import envfile
from stagecraft.files import FileRefused

ATOMS = ["A", "B", "export ", "=", " ", "\t", "\n", "\r\n", "\r", "#", "'", '"', "\\", "x", "${A}", "${B:-d}",
         "$", "é", "=#", " #c", "'k'", "\\n", '\\"', "${", "}", ":-"]


@pytest.mark.parametrize("interpolate", [False, True])
def test_same_values_as_python_dotenv_on_random_texts(interpolate, monkeypatch):
    from dotenv import dotenv_values
    from dotenv.parser import parse_stream

    monkeypatch.delenv("A", raising=False)
    monkeypatch.delenv("B", raising=False)
    logging.disable(logging.CRITICAL)  # python-dotenv warns about every line it skips
    rng = random.Random(12)
    compared = 0
    try:
        for _ in range(3000):
            text = "".join(rng.choice(ATOMS) for _ in range(rng.randint(1, 25)))
            theirs_bad = any(b.error for b in parse_stream(io.StringIO(text)))
            assert bool(envfile.invalid_lines(text)) == theirs_bad, repr(text)
            if theirs_bad:
                continue
            theirs = {k: v for k, v in dotenv_values(stream=io.StringIO(text), interpolate=interpolate).items()
                      if v is not None}
            assert envfile.values_of(text, interpolate=interpolate) == theirs, repr(text)
            compared += 1
    finally:
        logging.disable(logging.NOTSET)
    assert compared > 300


def test_the_usual_forms():
    text = ("# comment\nexport A=1\nB = two words # note\nC='single ${A}'\nD=\"multi\nline\\t\"\n"
            "E=${A}-${MISSING:-dflt}\n'F'=x\nG=\n")
    assert envfile.values_of(text, environ={}) == {
        "A": "1", "B": "two words", "C": "single 1", "D": "multi\nline\t", "E": "1-dflt", "F": "x", "G": ""}


def test_an_invalid_line_is_an_error_naming_its_line(tmp_path):
    path = tmp_path / ".env"
    path.write_text("A=1\nB=\"unclosed\nC=3\n")
    with pytest.raises(FileRefused) as info:
        envfile.read(path, "environments.prod.env_file")
    assert info.value.line == 2
    assert str(info.value).startswith(f"environments.prod.env_file: {path}: line 2 is not KEY=value")


def test_200k_lines_parse_in_one_pass():
    text = "".join(f"K{i}=v\n" for i in range(200_000))
    assert len(envfile.values_of(text, environ={})) == 200_000  # python-dotenv: minutes (quadratic)


def test_expansion_that_doubles_per_line_is_refused():
    text = "A=xxxxxxxxxxxxxxxx\n" + "A=${A}${A}\n" * 40
    with pytest.raises(envfile.EnvTextError) as info:
        envfile.values_of(text, environ={})
    assert "longer than" in info.value.reason and info.value.line < 41
