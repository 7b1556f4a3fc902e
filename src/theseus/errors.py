"""Errors that reach a person.

Every problem caused by input (a config key, an evidence file, a patch, a CLI argument) is
raised as a :class:`TheseusError`: the CLI prints its one line and exits with its code,
never a traceback. Anything else escaping is a bug in Theseus and is reported as such.
"""

from __future__ import annotations


class TheseusError(Exception):
    """A problem the user can fix; ``str(error)`` is one line naming what and how."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(self.line())

    def line(self) -> str:
        """The whole error as one line: what is wrong, then how to fix it."""
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(TheseusError):
    """theseus.toml (or [tool.theseus]) is missing, malformed or inconsistent."""


class EvidenceError(TheseusError):
    """Evidence could not be read, parsed or stored."""


class PatchError(TheseusError):
    """A patch is malformed or does not apply to its base."""


class PolicyViolation(TheseusError):
    """A candidate breaks a policy rule; it never runs."""


class SandboxError(TheseusError):
    """The sandbox could not be set up or the command could not start."""


class NotFound(TheseusError):
    """A named object (candidate, version, record) does not exist."""

    exit_code = 4
