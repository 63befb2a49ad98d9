"""The examples in the shared parser modules' docstrings run and give what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize(
    ("module_name", "examples"),
    [("reading", 4), ("columns", 5), ("grids", 5), ("files", 1)],
)
def test_docstring_examples(module_name: str, examples: int) -> None:
    module = importlib.import_module(f"lab_etl.parsers.{module_name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted >= examples
