"""The examples in the quality modules' docstrings run and give what they show (Spark-free ones; the gate's need a
session and are shown, not run)."""

from __future__ import annotations

import doctest
import importlib

from lab_etl.quality import expectations


def test_expectations_docstring_examples() -> None:
    result = doctest.testmod(expectations, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted >= 8


def test_gate_result_summary_example() -> None:
    module = importlib.import_module("lab_etl.quality.gate")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted >= 1
