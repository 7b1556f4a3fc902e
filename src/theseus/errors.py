"""Errors that reach a person, and the map of all of them.

Every problem caused by input (a config key, an evidence file, a patch, a CLI argument, an
HTTP request) is raised as a :class:`TheseusError`: the CLI prints its one line and exits
with its code, the HTTP layer answers with it, and nobody sees a traceback. Anything else
escaping is a bug in Theseus and is reported as such.

The whole hierarchy (``tests/test_errors.py`` checks that this tree is complete and true)::

    TheseusError                 exit 2: a problem the user can fix
    ├── ConfigError              theseus.toml / [tool.theseus] missing, malformed, inconsistent
    ├── EvidenceError            evidence cannot be read, parsed or stored
    ├── PatchError               a patch is malformed or does not apply to its base
    ├── PolicyViolation          a candidate breaks a policy rule; it never runs
    ├── SandboxError             the sandbox cannot be set up, or the command cannot start
    ├── NotFound                 exit 4: no candidate, version or record of that name
    ├── RepairInputError         the repair engine cannot start on this input
    ├── LLMError                 a model call gave no answer (theseus.propose.llm.client)
    ├── AnswerRejected           a model answer gives no usable change (theseus.propose.llm.answer)
    ├── GitError                 git is missing, no repository, or a git step failed
    ├── StateError               the state database cannot be opened or is too new
    ├── AuditError               the audit log cannot be written or read as asked
    ├── IllegalTransition        a candidate status change the archive does not allow
    ├── WebhookError             the consent webhook cannot be configured, reached or answered
    ├── ServiceError             a live call failed; carries its HTTP status (theseus.runtime.failures)
    │   ├── BadRequest           400: the request itself is wrong
    │   ├── Unauthorized         401: no (or a wrong) credential for this endpoint
    │   ├── Refused              403: authenticated, but not allowed (an unpromoted commit)
    │   ├── UnknownVersion       404: no such version
    │   ├── NoSession            404: no such session
    │   ├── NoTask               404: a report names a task the service never recorded
    │   ├── DeployFailed         409: a deploy did not reach cut-over
    │   ├── AgentError           502: the agent's code raised
    │   ├── WorkerCrashed        502: the worker died with the message in flight
    │   ├── Unavailable          503: no version can serve right now
    │   └── CallTimedOut         504: the agent did not answer in time
    ├── DemoError                the demo cannot set up or run its example agent
    │   └── LiveError            the demo's live service or its traffic failed
    └── BenchError               a benchmark cannot set up or run (its server failed)

Classes whose data types belong to one stage (``LLMError`` carries token usage,
``AnswerRejected`` the kind of laziness, ``ServiceError`` an HTTP body) are defined in that
stage, at the module named; everything else is defined here.
"""

from __future__ import annotations

__all__ = [
    "AuditError",
    "BenchError",
    "ConfigError",
    "DemoError",
    "EvidenceError",
    "GitError",
    "IllegalTransition",
    "LiveError",
    "NotFound",
    "PatchError",
    "PolicyViolation",
    "RepairInputError",
    "SandboxError",
    "StateError",
    "TheseusError",
    "WebhookError",
]


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


class RepairInputError(TheseusError):
    """The repair cannot start: no mutable file, a test command that passes or cannot run."""


class GitError(TheseusError):
    """git is missing, the folder is not a repository, or a git step failed."""


class StateError(TheseusError):
    """The state database cannot be opened, or was written by a newer Theseus."""


class AuditError(TheseusError):
    """The audit log cannot be written (or read) as asked."""


class IllegalTransition(TheseusError):
    """A status change the candidate graph does not allow."""


class WebhookError(TheseusError):
    """The webhook could not be configured, reached, or answered properly."""


class DemoError(TheseusError):
    """The demo could not set up or run its example agent."""


class LiveError(DemoError):
    """The demo's live service or its traffic could not start or run."""


class BenchError(TheseusError):
    """A benchmark could not set up or run: e.g. the server under test exited."""
