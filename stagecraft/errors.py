"""Exit codes and the exceptions that carry them (spec/exit-codes.md)."""

from __future__ import annotations

OK = 0
USER_ERROR = 1  # bad input, bad config
EXTERNAL_ERROR = 2  # an external dependency or provider failed
INTERNAL_ERROR = 3  # a bug in Stagecraft
PARTIAL_FAILURE = 10  # some hosts failed, others succeeded


class StagecraftError(Exception):
    """An error with a message meant for the user and a documented exit code."""

    exit_code = INTERNAL_ERROR

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.data: dict | None = None  # the command's result, when it ends in this error (output.result_on_failure)


class UserError(StagecraftError):
    exit_code = USER_ERROR


class ConfigError(UserError):
    """One or more problems in stagecraft.yml; each issue names a key path and position."""

    def __init__(self, issues: list, *, path: str | None = None):
        self.issues = list(issues)
        self.path = path
        super().__init__("\n".join(str(i) for i in self.issues) or "invalid configuration")


class ExternalError(StagecraftError):
    exit_code = EXTERNAL_ERROR


class PartialFailure(StagecraftError):
    exit_code = PARTIAL_FAILURE


def host_failure(failed: int, total: int, message: str) -> StagecraftError:
    """A command that failed on `failed` of `total` hosts: partial (10) when some hosts did their part,
    external (2) when none did."""
    return (PartialFailure if failed < total else ExternalError)(message)
