"""oracles: what a replayed case must do to count as fixed, beyond "it no longer fails".

A foundation package (standard library, with typeguard, jsonschema and genson imported when
used), because it runs in two places: on the host, where reports are checked and the curator
infers the shape of good replies, and inside the sandbox, where the generated replay tests
judge a candidate's replies (:mod:`.matchers`), its replies' shape (:mod:`.shape`) and the
types its functions return (:mod:`.returns`), and where the curator learns which functions a
recorded input runs (:mod:`.execution`). It imports nothing else of Theseus.
"""

from theseus.oracles.execution import FunctionsRun
from theseus.oracles.matchers import (
    MARK,
    anything,
    approx,
    contains,
    is_matcher,
    matcher_problem,
    mismatch,
    partial,
    predicate,
    regex,
    schema,
)
from theseus.oracles.returns import ReturnTypeWatch
from theseus.oracles.shape import infer_reply_schema, input_kind, reply_problem, report_problem

__all__ = [
    "MARK",
    "FunctionsRun",
    "ReturnTypeWatch",
    "anything",
    "approx",
    "contains",
    "infer_reply_schema",
    "input_kind",
    "is_matcher",
    "matcher_problem",
    "mismatch",
    "partial",
    "predicate",
    "regex",
    "reply_problem",
    "report_problem",
    "schema",
]
