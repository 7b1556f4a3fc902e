"""What an example agent tells the demo about itself: ``demo.json`` beside its theseus.toml.

The demo machinery is the same for every bundled example; what differs is said here, so an
example is added by writing a folder, not by editing the demo:

- ``services``: processes the agent needs while it runs (the travel agent's stand-in model
  server), each started before the agent is served, with the environment it gives the agent
  and the traffic (``{port}`` is a free port chosen for it, ``{python}`` this interpreter);
- ``bad_candidates``: the deliberately bad changes the demo shows being caught, each a few
  text replacements in one file and what should stop it (``policy`` or ``verification``),
  with the batch it claims to fix named by the file of its crash location (``for_location``)
  or by a word of its title (``for_title``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from theseus.errors import DemoError

__all__ = ["BadCandidate", "DemoManifest", "Replacement", "Service", "load_manifest"]

MANIFEST = "demo.json"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Service(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,30}$")
    argv: list[str] = Field(min_length=1)
    env: dict[str, str] = Field(default_factory=dict)
    start_timeout: float = Field(default=20.0, gt=0, le=300)


class Replacement(_Strict):
    old: str = Field(min_length=1)
    new: str


class BadCandidate(_Strict):
    why: str = Field(min_length=1)
    file: str = Field(min_length=1)
    replace: list[Replacement] = Field(min_length=1)
    prepend: str = ""
    stopped_by: Literal["policy", "verification"]
    for_location: str | None = None
    for_title: str | None = None


class DemoManifest(_Strict):
    description: str = ""
    services: list[Service] = Field(default_factory=list)
    bad_candidates: list[BadCandidate] = Field(default_factory=list)


def load_manifest(example: Path) -> DemoManifest:
    """The example's manifest (an empty one when it has none); DemoError if malformed."""
    path = example / MANIFEST
    if not path.is_file():
        return DemoManifest()
    try:
        return DemoManifest.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        first = exc.errors()[0] if isinstance(exc, ValidationError) else None
        where = ".".join(str(p) for p in first["loc"]) if first else ""
        why = first["msg"] if first else str(exc)
        raise DemoError(
            f"{path}: {where + ': ' if where else ''}{why}",
            hint="fix the example's demo.json (see theseus.demo.manifest)",
        ) from None
