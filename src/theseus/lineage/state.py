"""Where a project's Theseus state lives, and who is acting on it.

The CLI commands of the gate and lineage (and the cycle) all need the same few things: the
project root, its ``.theseus/`` folder, the archive, the audit log, and the name of the
person at the keyboard for the audit trail.
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path

from theseus.config import find_config
from theseus.errors import ConfigError
from theseus.lineage.archive import Archive
from theseus.lineage.audit import AUDIT_FILE, AuditLog
from theseus.lineage.db import DB_FILE
from theseus.paths import STATE_DIR


def project_root(project: str | Path | None = None) -> Path:
    """The folder of the nearest theseus.toml at or above ``project`` (default: cwd).

    A folder without a config but with a ``.theseus/`` state folder is accepted as it is, so
    the audit log of a copied state folder can still be checked."""
    start = Path(project) if project is not None else Path.cwd()
    try:
        return find_config(start).parent.resolve()
    except ConfigError:
        if (start / STATE_DIR).is_dir():
            return start.resolve()
        raise


def state_dir(root: Path) -> Path:
    return root / STATE_DIR


def open_archive(root: Path) -> Archive:
    return Archive(state_dir(root) / DB_FILE)


def open_audit(root: Path) -> AuditLog:
    return AuditLog(state_dir(root) / AUDIT_FILE)


def current_actor() -> str:
    """The person running the command ($USER), for the audit trail."""
    user = os.environ.get("USER") or os.environ.get("LOGNAME")
    if user:
        return user
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
