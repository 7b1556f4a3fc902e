"""evolve: the stages wired into the loop Theseus exists for.

:func:`run_cycle` (one :class:`Cycle`) curates the evidence, works each failure batch through
propose -> verify -> gate -> promote -> deploy, and reports per signature
(:class:`CycleReport`); :func:`evolve` runs cycles until done. :mod:`.proposals` turns a
batch into a proposer's context and a fix into its permanent regression test.

This is the last stage: it may import every stage before it, and none imports it.
"""

from theseus.evolve.batches import work_order
from theseus.evolve.cycle import Cycle, CycleProgress, Promotion, quiet, run_cycle
from theseus.evolve.loop import evolve
from theseus.evolve.proposals import REGRESSION_DIR, regression_test
from theseus.evolve.report import OUTCOMES, CycleReport, SignatureOutcome, SignatureResult

__all__ = [
    "OUTCOMES",
    "REGRESSION_DIR",
    "Cycle",
    "CycleProgress",
    "CycleReport",
    "Promotion",
    "SignatureOutcome",
    "SignatureResult",
    "evolve",
    "quiet",
    "regression_test",
    "run_cycle",
    "work_order",
]
