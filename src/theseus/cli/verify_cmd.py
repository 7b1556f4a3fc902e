"""`theseus verify ID|--patch FILE`: prove one candidate in the sandbox and show its score."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape

from theseus.change.candidate import Candidate
from theseus.change.workspace import current_commit
from theseus.cli.output import console, emit, err_console, json_option, project_option, table
from theseus.config import Settings, load_settings
from theseus.errors import NotFound, TheseusError
from theseus.evidence.records import FailureBatch
from theseus.verify.pipeline import Verification, verify_candidate

ARCHIVE_FILE = "theseus.db"


def pick_batch(settings: Settings, signature: str | None) -> FailureBatch | None:
    """The batch named by ``signature`` (or a unique prefix), else the top-ranked one, else
    None when there is no evidence at all (then only the test suite runs)."""
    from theseus.evidence.curator import curate
    from theseus.evidence.journal import has_evidence
    from theseus.evidence.store import EvidenceStore

    path = settings.evidence_path
    if not has_evidence(path):
        if signature is not None:
            raise NotFound(f"no evidence store at {path}, so no batch {signature!r}")
        return None
    with EvidenceStore(path) as store:
        batches = curate(store, settings)
    if signature is None:
        return batches[0] if batches else None
    matches = [b for b in batches if b.signature == signature] or [
        b for b in batches if b.signature.startswith(signature)
    ]
    if not matches:
        raise NotFound(
            f"no failure batch with signature {signature!r}", hint="see `theseus evidence batches`"
        )
    if len(matches) > 1:
        raise TheseusError(f"signature prefix {signature!r} is ambiguous", hint="give more of it")
    return matches[0]


def render(verification: Verification, candidate: Candidate) -> None:
    """The score as a table, then the replay cases and anything that went wrong.

    Every value is markup-escaped: test ids like ``test_x[1]`` and policy rules like
    ``[constructs]`` would otherwise be eaten by rich as style tags.
    """
    score = verification.score
    colour = "green" if verification.ok else "red"
    rows: list[tuple[str, str]] = [
        ("candidate", candidate.id),
        ("base", candidate.base_commit[:12]),
        ("signature", verification.signature or "-"),
    ]
    if score is not None:
        not_run = f" ({score.replay_not_run} not run)" if score.replay_not_run else ""
        tests = (
            f"{score.tests_passed} passed, {score.tests_failed} failed, {score.tests_errors} errors"
            if score.tests_run
            else "not run"
        )
        rows += [
            ("replay fixed", f"{score.replay_fixed}/{score.replay_total}{not_run}"),
            ("tests", tests),
            ("regressions", ", ".join(score.regressions) or "none"),
            ("new failures", ", ".join(score.new_failures) or "none"),
            ("sandbox", score.backend or "-"),
            ("baseline", "cached" if verification.baseline_cached else "computed now"),
        ]
    rows.append(("duration", f"{verification.duration:.2f}s"))
    cells = [(name, escape(value)) for name, value in rows]
    cells.insert(3, ("status", f"[{colour}]{verification.status}[/]"))
    console.print(table("verification", ["", "value"], cells))
    if verification.replay_cases:
        cases = [(escape(task), outcome) for task, outcome in verification.replay_cases.items()]
        console.print(table("replay cases", ["task", "outcome"], cases))
    for violation in verification.violations:
        console.print(f"[red]policy:[/] {escape(violation)}", highlight=False)
    if not verification.violations:
        console.print(f"[{colour}]{escape(verification.reason)}[/]", highlight=False)


@click.command("verify")
@click.argument("candidate_id", required=False)
@click.option(
    "--patch",
    "patch_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A unified diff to verify against the project's current HEAD (instead of an ID).",
)
@click.option(
    "--signature",
    default=None,
    help="The failure batch to replay (signature or unique prefix); default: the candidate's "
    "own batch, else the top-ranked one.",
)
@project_option
@json_option
@click.pass_context
def verify(
    ctx: click.Context,
    candidate_id: str | None,
    patch_file: Path | None,
    signature: str | None,
    project: str | None,
    as_json: bool,
) -> None:
    """Verify a candidate in the sandbox: policy, replay of the batch's evidence, test suite.

    Give a candidate ID from the archive (`theseus candidates list`), or --patch FILE to
    verify a diff against the current HEAD (it is then added to the archive). The score and
    status are stored with the candidate.

    \b
    Exit status: 0 verified, 1 failed / invalid / rejected by policy, 2 bad input,
    4 unknown candidate or signature.
    """
    if (candidate_id is None) == (patch_file is None):
        raise TheseusError(
            "give exactly one of a candidate ID or --patch FILE",
            hint="e.g. `theseus verify 3f2a9c` or `theseus verify --patch fix.diff`",
        )
    from theseus.lineage.archive import Archive

    settings = load_settings(Path(project) if project else None)
    root = settings.root
    archive = Archive(settings.state_dir / ARCHIVE_FILE)
    try:
        if patch_file is not None:
            diff = _read_patch(patch_file)
            batch = pick_batch(settings, signature)
            candidate = Candidate.create(
                base_commit=current_commit(root),
                diff=diff,
                proposer="cli",
                signature=batch.signature if batch is not None else None,
                rationale=f"verify --patch {patch_file.name}",
            )
            candidate = archive.add(candidate, actor="cli")
        else:
            assert candidate_id is not None
            candidate = archive.get(candidate_id)
            batch = pick_batch(settings, signature or candidate.signature)
        if as_json:
            verification = verify_candidate(candidate, batch, settings, root, archive=archive)
        else:
            with err_console.status(f"verifying {candidate.id} ..."):
                verification = verify_candidate(candidate, batch, settings, root, archive=archive)
    finally:
        archive.close()
    emit(
        {"candidate": candidate.model_dump(mode="json"), **verification.model_dump(mode="json")},
        as_json,
        lambda: render(verification, candidate),
    )
    ctx.exit(0 if verification.ok else 1)


def _read_patch(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TheseusError(
            f"cannot read patch {path}: {exc}", hint="give a UTF-8 text diff"
        ) from None
    if not text.strip():
        raise TheseusError(f"patch {path} is empty", hint="give a unified diff")
    return text
