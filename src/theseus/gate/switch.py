"""The kill switch: a file flag (``.theseus/PAUSED``) that stops evolution between steps.

A file, not a database row or a signal, because it must work when everything else is
broken: a person can create it by hand, any process can see it, and the loop checks it at
every step, so ``theseus pause`` takes effect within one step of a running cycle.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from theseus._atomic import write_text_atomic
from theseus.lineage.audit import AuditLog

PAUSE_FILE = "PAUSED"


class KillSwitch:
    """Pause and resume evolution for one project's state folder (audited when a log is given)."""

    def __init__(self, state_dir: Path | str, audit: AuditLog | None = None) -> None:
        self.path = Path(state_dir) / PAUSE_FILE
        self.audit = audit

    def is_paused(self) -> bool:
        return self.path.exists()

    def info(self) -> dict[str, Any] | None:
        """Who paused, when and why; None when running. A hand-made empty file still pauses."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError:
            return {"actor": "unknown", "reason": "PAUSED file exists", "since": None}
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return {
                "actor": "unknown",
                "reason": text.strip() or "PAUSED file exists",
                "since": None,
            }
        return data

    def pause(self, actor: str, reason: str = "") -> bool:
        """Pause; returns False when it was already paused (then nothing changes)."""
        if self.is_paused():
            return False
        info = {"actor": actor, "reason": reason or "paused", "since": time.time()}
        write_text_atomic(self.path, json.dumps(info) + "\n")
        if self.audit is not None:
            self.audit.append("pause", {"reason": info["reason"]}, actor=actor)
        return True

    def resume(self, actor: str, reason: str = "") -> bool:
        """Resume; returns False when it was not paused."""
        previous = self.info()
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        if self.audit is not None:
            self.audit.append(
                "resume", {"reason": reason or "resumed", "paused": previous}, actor=actor
            )
        return True
