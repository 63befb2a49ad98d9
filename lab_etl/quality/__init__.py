"""Data-quality gates: Great Expectations suites generated from ``schemas/`` and the gate a batch must pass
before it is published.

- :mod:`lab_etl.quality.expectations`: :func:`suite_for` (contract -> suite) and the science rules per table.
- :mod:`lab_etl.quality.gate`: :func:`validate` (run the suite, build Data Docs), returning a :class:`GateResult`,
  and :func:`append_results` (append results to ``lab_bronze.dq_results``).

Importing this package imports Great Expectations (about 3 s); import it where a gate runs, not at CLI start-up.

Examples
--------
>>> from lab_etl.quality import append_results, validate                        # doctest: +SKIP
>>> result = validate(frame, "plate_qc", run_id=run_id, docs_dir=warehouse / "_data_docs")  # doctest: +SKIP
>>> append_results(spark, [result])                                              # doctest: +SKIP
>>> if not result.success: ...                                                   # doctest: +SKIP
"""

from __future__ import annotations

from lab_etl.quality.expectations import SCIENCE_EXPECTATIONS, suite_for
from lab_etl.quality.gate import (
    DqResult,
    FailedExpectation,
    GateResult,
    append_results,
    build_docs,
    results_frame,
    validate,
)

__all__ = [
    "SCIENCE_EXPECTATIONS",
    "DqResult",
    "FailedExpectation",
    "GateResult",
    "append_results",
    "build_docs",
    "results_frame",
    "suite_for",
    "validate",
]
