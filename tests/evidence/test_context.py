"""Task ids: the fresh ones are real version-4 UUIDs, only cheaper to make."""

from __future__ import annotations

import uuid

from theseus.evidence.context import random_id


def test_fresh_task_ids_are_version_4_uuids_in_hex() -> None:
    ids = {random_id() for _ in range(2000)}
    assert len(ids) == 2000
    for value in ids:
        parsed = uuid.UUID(hex=value)
        assert parsed.hex == value and parsed.version == 4 and parsed.variant == uuid.RFC_4122
