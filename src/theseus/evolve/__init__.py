"""The evolution cycle: the stages wired into the loop Theseus exists for."""

from theseus.evolve.cycle import run_cycle
from theseus.evolve.loop import evolve
from theseus.evolve.report import CycleReport, SignatureOutcome

__all__ = ["CycleReport", "SignatureOutcome", "evolve", "run_cycle"]
