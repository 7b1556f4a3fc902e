"""`theseus evidence park|unpark|forget SIG`, and the status `evidence list` shows per signature.

A person's word on a batch: *park* it (the cycle leaves it alone, e.g. a known limitation
or a bug someone fixes by hand), *unpark* it, or *forget* it (its evidence so far stops
counting; a failure after that brings it back). Marks live in the evidence store next to the
evidence they are about, and each one is also an audit record.

The status column joins what each part of Theseus knows: a park, the regression watch
(fixed by a promoted candidate, or returned after that fix) and the branch (the commit that
fixed it).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import click

from theseus.cli.output import console, emit, json_option, project_option
from theseus.config import Settings, load_settings
from theseus.errors import NotFound
from theseus.evidence.journal import has_evidence
from theseus.evidence.records import FailureBatch
from theseus.evidence.store import EvidenceStore, SignatureMark
from theseus.gate.regression import RegressionWatch
from theseus.lineage import git
from theseus.lineage.db import DB_FILE
from theseus.lineage.state import current_actor, open_archive, open_audit, project_root
from theseus.paths import STATE_DIR

__all__ = ["forget_cmd", "park_cmd", "signature_status", "unpark_cmd"]

_SIGNATURE = re.compile(r"[0-9a-f]{12}")


def signature_status(settings: Settings, batches: list[FailureBatch]) -> dict[str, str]:
    """Signature -> ``open``, ``parked``, ``returned`` or ``fixed in <commit>``."""
    marks: dict[str, SignatureMark] = {}
    if has_evidence(settings.evidence_path):
        with EvidenceStore(settings.evidence_path) as store:
            marks = store.signature_marks()
    fixed: set[str] = set()
    returned: set[str] = set()
    if (settings.root / STATE_DIR / DB_FILE).is_file():
        archive = open_archive(settings.root)
        try:
            watch = RegressionWatch(archive.db)
            returned = {flag.signature for flag in watch.flagged()}
            fixed = {b.signature for b in batches if watch.is_fixed(b.signature)}
        finally:
            archive.close()
    commits: dict[str, str] = {}
    if fixed:
        try:
            for version in git.versions(settings.root, branch=settings.lineage.branch):
                if version.signature and version.signature not in commits:
                    commits[version.signature] = version.commit[:12]
        except Exception:  # no git history to name the commit: the status still says fixed
            commits = {}
    status: dict[str, str] = {}
    for batch in batches:
        sig = batch.signature
        mark = marks.get(sig)
        if mark is not None and mark.mark == "parked":
            status[sig] = "parked"
        elif sig in returned:
            status[sig] = "returned"
        elif sig in fixed:
            status[sig] = f"fixed in {commits[sig]}" if sig in commits else "fixed"
        else:
            status[sig] = "open"
    return status


def _mark(
    project: str | None,
    signature: str,
    mark: Literal["parked", "forgotten"] | None,
    reason: str,
    as_json: bool,
) -> None:
    signature = signature.strip().lower()
    if not _SIGNATURE.fullmatch(signature):
        raise click.BadParameter(
            f"{signature!r} is not a failure signature (12 hex digits, as `theseus evidence"
            " list` shows)",
            param_hint="SIG",
        )
    root = project_root(Path(project) if project else None)
    settings = load_settings(root / "theseus.toml")
    if not has_evidence(settings.evidence_path):
        raise NotFound(f"no evidence store at {settings.evidence_path}", hint="record some first")
    actor = current_actor()
    result: dict[str, object]
    with EvidenceStore(settings.evidence_path) as store:
        if mark is None:
            had = store.unmark_signature(signature)
            result = {"signature": signature, "mark": None, "removed": had}
        else:
            made = store.mark_signature(signature, mark, actor, reason)
            result = {"signature": signature, "mark": mark, "at": made.at, "reason": reason}
    audit = open_audit(root)
    audit.append(
        "manual", {"event": mark or "unmark", "signature": signature, "reason": reason}, actor
    )
    said = {
        "parked": "parked: the cycle leaves it alone until `theseus evidence unpark`",
        "forgotten": "forgotten: its evidence so far no longer counts",
        None: "unmarked" if result.get("removed") else "had no park or forget",
    }[mark]
    emit(result, as_json, lambda: console.print(f"{signature} {said}", highlight=False))


_reason = click.option("--reason", default="", help="Why (kept with the mark and audited).")


@click.command("park")
@click.argument("signature", metavar="SIG")
@_reason
@project_option
@json_option
def park_cmd(signature: str, reason: str, project: str | None, as_json: bool) -> None:
    """Park failure signature SIG: evolution cycles skip it until it is unparked."""
    _mark(project, signature, "parked", reason, as_json)


@click.command("unpark")
@click.argument("signature", metavar="SIG")
@project_option
@json_option
def unpark_cmd(signature: str, project: str | None, as_json: bool) -> None:
    """Take a park (or a forget) off failure signature SIG."""
    _mark(project, signature, None, "", as_json)


@click.command("forget")
@click.argument("signature", metavar="SIG")
@_reason
@project_option
@json_option
def forget_cmd(signature: str, reason: str, project: str | None, as_json: bool) -> None:
    """Forget SIG's evidence so far (nothing is deleted); a later failure brings it back."""
    _mark(project, signature, "forgotten", reason, as_json)
