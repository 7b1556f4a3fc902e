"""`theseus demo`: the bundled example agent served live, its failures recorded, then evolved.

Not a stage: the demo drives the stages as a user would, on a copy of the example agent
(:mod:`.workdir`), with the live service and customer traffic over HTTP (:mod:`.live`),
and the evolution half under traffic (:mod:`.evolution`); :func:`run_demo` (:mod:`.run`)
is the whole run. Nothing in the stages imports it.
"""

from theseus.demo.evolution import EvolutionResult, run_evolution
from theseus.demo.live import BackgroundTraffic, LiveService, free_port, serving
from theseus.demo.run import DemoResult, run_demo
from theseus.demo.workdir import (
    EXAMPLE,
    curate_workdir,
    find_example,
    prepare_workdir,
    record_in_process,
    set_port,
)
from theseus.errors import DemoError, LiveError

__all__ = [
    "EXAMPLE",
    "BackgroundTraffic",
    "DemoError",
    "DemoResult",
    "EvolutionResult",
    "LiveError",
    "LiveService",
    "curate_workdir",
    "find_example",
    "free_port",
    "prepare_workdir",
    "record_in_process",
    "run_demo",
    "run_evolution",
    "serving",
    "set_port",
]
