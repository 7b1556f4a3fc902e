"""Run untrusted candidate code with no network, a read-only system and hard limits.

Backends, best first: bubblewrap, a network namespace (`unshare`), plain resource limits
(with a loud warning). See :mod:`theseus.verify.sandbox.backends` for what each isolates.
"""

from theseus.verify.sandbox.backends import (
    BACKENDS,
    CHOICES,
    BackendInfo,
    all_backends,
    detect_backend,
)
from theseus.verify.sandbox.limits import Limits, SandboxResult
from theseus.verify.sandbox.runner import run_sandboxed, sandbox_env

__all__ = [
    "BACKENDS",
    "CHOICES",
    "BackendInfo",
    "Limits",
    "SandboxResult",
    "all_backends",
    "detect_backend",
    "run_sandboxed",
    "sandbox_env",
]
