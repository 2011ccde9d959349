"""stagecraft.process.run: the one way a program runs (real processes, no mocks)."""

from __future__ import annotations

import logging
import sys

import pytest

from stagecraft import process
from stagecraft.errors import ExternalError


def test_a_missing_program_is_an_external_error_naming_it():
    with pytest.raises(ExternalError, match="the program 'no-such-program-x' is not installed"):
        process.run(["no-such-program-x"], what="probe")


def test_a_timeout_is_an_external_error():
    with pytest.raises(ExternalError, match="sleepy did not finish within 0.2 s"):
        process.run([sys.executable, "-c", "import time; time.sleep(5)"], what="sleepy", timeout=0.2)


def test_secrets_never_reach_the_log_or_the_error(caplog):
    caplog.set_level(logging.DEBUG, logger="stagecraft.process")
    code = "import os, sys; sys.stderr.write('denied for ' + os.environ['PW']); sys.exit(3)"
    with pytest.raises(ExternalError) as err:
        process.run([sys.executable, "-c", code, "hunter2"], env={"PW": "hunter2"}, what="login", check=True,
                    secrets=["hunter2"], input="hunter2\n")
    assert "hunter2" not in str(err.value) and "denied for ***" in str(err.value)
    assert "hunter2" not in caplog.text and "PW" in caplog.text  # env names are logged, values never


def test_env_adds_to_the_environment_and_input_feeds_stdin():
    proc = process.run([sys.executable, "-c", "import os, sys; print(os.environ['A'], 'PATH' in os.environ, "
                        "sys.stdin.read().strip())"], env={"A": "1"}, input="fed")
    assert proc.returncode == 0 and proc.stdout.split() == ["1", "True", "fed"]
