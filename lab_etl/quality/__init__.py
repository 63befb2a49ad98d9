"""Data-quality gates: Great Expectations suites generated from ``schemas/`` and the gate a batch must pass
before it is published.

- :mod:`lab_etl.quality.expectations`: :func:`suite_for` (contract -> suite) and the science rules per table.
- :mod:`lab_etl.quality.gate`: :func:`validate` and :func:`gate` (validate, append to ``lab_bronze.dq_results``,
  build Data Docs), returning a :class:`GateResult`.

Importing this package imports Great Expectations (about 3 s); import it where a gate runs, not at CLI start-up.

Examples
--------
>>> from lab_etl.quality import gate                                            # doctest: +SKIP
>>> result = gate(spark, frame, "plate_qc", run_id=run_id, docs_dir=warehouse / "_data_docs")  # doctest: +SKIP
>>> if not result.success: ...                                                   # doctest: +SKIP
"""

from __future__ import annotations

from lab_etl.quality.expectations import SCIENCE_EXPECTATIONS, suite_for
from lab_etl.quality.gate import DqResult, FailedExpectation, GateResult, gate, results_frame, validate

__all__ = [
    "SCIENCE_EXPECTATIONS",
    "DqResult",
    "FailedExpectation",
    "GateResult",
    "gate",
    "results_frame",
    "suite_for",
    "validate",
]
