"""Benchmark tooling that ships with Theseus (``theseus bench``), kept out of the stages.

:mod:`.swap` measures a hot swap under load against a restart-based deploy
(:mod:`.restart_baseline`, the way most services ship a new version), driving both with
the closed-loop load generator in :mod:`.loadgen`. The scripts under ``benchmarks/`` in a
checkout run these and write BENCHMARKS.md. Nothing in the stages imports this package.
"""

from theseus.bench.loadgen import Load
from theseus.bench.swap import passed, run_bench

__all__ = ["Load", "passed", "run_bench"]
