"""Great Expectations suites generated from the table contracts in ``schemas/``, plus the lab's science rules.

A table's expectations are defined once. :func:`suite_for` turns a :class:`~lab_etl.contracts.TableContract` into
a Great Expectations 1.x ``ExpectationSuite`` from four sources, in this order:

1. **the contract's columns** (``origin`` ``contract``): every contract column present; ``nullable: false`` ->
   ``expect_column_values_to_not_be_null``; ``expect: {pattern}`` -> ``expect_column_values_to_match_regex``;
   ``{allowed}`` -> ``expect_column_values_to_be_in_set``; ``{min, max}`` -> ``expect_column_values_to_be_between``;
   ``{unique: true}`` -> ``expect_column_values_to_be_unique``; the natural key -> one row per key
   (``expect_compound_columns_to_be_unique``, or ``expect_column_values_to_be_unique`` for a one-column key);
   and at least one row (``expect_table_row_count_to_be_between(min_value=1)``);
2. **science rules** (``origin`` ``science``) that no column type can say, registered per table in
   :data:`SCIENCE_EXPECTATIONS` (e.g. a yield is a percentage between 0 and 100);
3. **the contract's own** ``expectations:`` list (``origin`` ``contract_yaml``): raw Great Expectations configs;
4. **the caller's** ``extra`` configs (``origin`` ``extra``).

Raw configs (2-4) have the Great Expectations shape ``{"type": ..., "kwargs": {...}, "meta": {...}}``; a row
condition is given in Great Expectations' serialised ``Condition`` form, e.g. ``{"type": "comparison", "column":
{"name": "measurement"}, "operator": "==", "parameter": "yield"}``. The same expectation (type and kwargs) met twice
is kept once, with its first origin. Every expectation carries ``meta.origin`` and ``meta.why`` (shown in failure
reasons, ``lab_bronze.dq_results`` and Data Docs).

Examples
--------
>>> from lab_etl.contracts import contract
>>> suite = suite_for(contract("plate_qc"))
>>> suite.name
'lab_gold.plate_qc'
>>> sorted({e.meta["origin"] for e in suite.expectations})
['contract', 'science']
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import great_expectations as gx
from great_expectations.expectations.expectation import Expectation
from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

from lab_etl.contracts import Column, TableContract
from lab_etl.errors import ConfigError

#: Where an expectation came from (``meta.origin``; the ``origin`` column of ``lab_bronze.dq_results``).
ORIGINS = ("contract", "science", "contract_yaml", "extra")


def _when(column: str, equals: str) -> dict[str, Any]:
    """A Great Expectations row condition ``column == equals`` in its serialised form."""
    return {"type": "comparison", "column": {"name": column}, "operator": "==", "parameter": equals}


#: Science rules per table (bare table name), as raw Great Expectations configs with ``meta.why``. This is the one
#: place to add a rule that the column types and ranges of ``schemas/`` cannot express.
SCIENCE_EXPECTATIONS: dict[str, tuple[dict[str, Any], ...]] = {
    "assay_results_flat": (
        {
            "type": "expect_column_values_to_be_between",
            "kwargs": {
                "column": "value",
                "min_value": 0,
                "max_value": 100,
                "row_condition": _when("measurement", "yield"),
            },
            "meta": {"why": "a reaction yield is a percentage of the theoretical amount: 0 to 100 %"},
        },
    ),
    "plate_qc": (
        {
            "type": "expect_column_values_to_be_between",
            "kwargs": {"column": "z_prime", "max_value": 1},
            "meta": {"why": "Z' = 1 - 3 (sd_pos + sd_neg) / |mean_pos - mean_neg| cannot exceed 1 (Zhang 1999)"},
        },
        {
            "type": "expect_column_pair_values_a_to_be_greater_than_b",
            "kwargs": {"column_A": "wells", "column_B": "flagged_wells", "or_equal": True},
            "meta": {"why": "flagged wells are a subset of the wells with a reading"},
        },
        {
            "type": "expect_column_pair_values_a_to_be_greater_than_b",
            "kwargs": {"column_A": "wells", "column_B": "positive_controls", "or_equal": True},
            "meta": {"why": "positive-control wells are a subset of the wells with a reading"},
        },
        {
            "type": "expect_column_pair_values_a_to_be_greater_than_b",
            "kwargs": {"column_A": "wells", "column_B": "negative_controls", "or_equal": True},
            "meta": {"why": "negative-control wells are a subset of the wells with a reading"},
        },
    ),
}


def suite_name(contract: TableContract) -> str:
    """The suite's name: the table's qualified name (``lab_gold.plate_qc``)."""
    return contract.qualified_name


def suite_for(contract: TableContract, *, extra: Sequence[Mapping[str, Any]] = ()) -> gx.ExpectationSuite:
    """The Great Expectations suite of one table: generated from its contract, plus science rules and extras.

    Parameters
    ----------
    contract:
        The table's contract (``lab_etl.contracts.contract("instrument_readings")``).
    extra:
        Further raw Great Expectations configs (``{"type", "kwargs", "meta"}``) for this call only.

    Returns
    -------
    great_expectations.ExpectationSuite
        Named after the table (``lab_bronze.instrument_readings``); each expectation has ``meta.origin`` (one of
        :data:`ORIGINS`) and ``meta.why``. The suite is not attached to any data context.

    Raises
    ------
    ConfigError
        A raw config names an unknown expectation type, has wrong kwargs, or names a column the contract lacks; the
        message names the table, the config's origin and position, and what to fix.

    Examples
    --------
    >>> from lab_etl.contracts import contract
    >>> suite = suite_for(contract("ingest_runs"))
    >>> [e.expectation_type for e in suite.expectations][-2:]
    ['expect_column_values_to_be_unique', 'expect_table_row_count_to_be_between']
    >>> suite_for(contract("ingest_runs"), extra=[{"type": "expect_nothing", "kwargs": {}}])
    Traceback (most recent call last):
    ...
    lab_etl.errors.ConfigError: lab_bronze.ingest_runs: extra expectation 1 ('expect_nothing'): ...
    """
    expectations: list[Expectation] = []
    seen: set[str] = set()

    def keep(expectation: Expectation) -> None:
        key = expectation_key(expectation.expectation_type, expectation.configuration.kwargs)
        if key not in seen:
            seen.add(key)
            expectations.append(expectation)

    for expectation in _contract_expectations(contract):
        keep(expectation)
    sources: list[tuple[str, Iterable[Mapping[str, Any]]]] = [
        ("science", SCIENCE_EXPECTATIONS.get(contract.table, ())),
        ("contract_yaml", contract.expectations),
        ("extra", extra),
    ]
    for origin, configs in sources:
        for position, config in enumerate(configs, start=1):
            keep(_from_config(contract, config, origin, position))
    return gx.ExpectationSuite(
        name=suite_name(contract),
        expectations=expectations,
        meta={"generated_by": "lab_etl.quality.expectations.suite_for", "table": contract.qualified_name},
    )


def expectation_key(expectation_type: str, kwargs: Mapping[str, Any]) -> str:
    """A stable short id of an expectation (type + kwargs, batch id left out): 16 hex digits.

    Examples
    --------
    >>> expectation_key("expect_column_values_to_not_be_null", {"column": "well"})
    '72b75c96e5d5f12a'
    """
    import hashlib

    text = expectation_type + "|" + kwargs_json(kwargs)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def kwargs_json(kwargs: Mapping[str, Any]) -> str:
    """An expectation's kwargs as sorted JSON, without the run-specific ``batch_id``.

    Examples
    --------
    >>> kwargs_json({"column": "well", "batch_id": "lab_etl-x", "mostly": 1.0})
    '{"column": "well", "mostly": 1.0}'
    """
    cleaned = {k: v for k, v in kwargs.items() if k != "batch_id" and v is not None}
    return json.dumps(_plain(cleaned), sort_keys=True, default=str)


def expectation_columns(expectation_type: str, kwargs: Mapping[str, Any]) -> list[str]:
    """The columns an expectation is about (``column``, ``column_A``/``column_B`` or ``column_list``).

    Examples
    --------
    >>> expectation_columns("expect_compound_columns_to_be_unique", {"column_list": ["plate_id", "well"]})
    ['plate_id', 'well']
    """
    if kwargs.get("column"):
        return [str(kwargs["column"])]
    if kwargs.get("column_A"):
        return [str(kwargs["column_A"]), str(kwargs["column_B"])]
    return [str(c) for c in kwargs.get("column_list") or []]


def _plain(value: Any) -> Any:
    """Row conditions and other pydantic objects inside kwargs, as plain JSON-able values."""
    if hasattr(value, "dict") and callable(value.dict) and not isinstance(value, dict):
        return _plain(value.dict())
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    return value


def _contract_expectations(contract: TableContract) -> list[Expectation]:
    """The expectations that the contract's columns, natural key and row count imply."""
    E = gx.expectations
    table = contract.qualified_name
    generated: list[Expectation] = [
        E.ExpectTableColumnsToMatchSet(
            column_set=contract.column_names,
            exact_match=False,
            meta=_meta("contract", f"{table} has the columns of schemas/{contract.table}.yaml"),
        )
    ]
    for column in contract.columns:
        generated += _column_expectations(contract, column)
    key = list(contract.natural_key)
    why = f"one row per natural key ({', '.join(key)}) of {table}"
    if len(key) == 1:
        generated.append(E.ExpectColumnValuesToBeUnique(column=key[0], meta=_meta("contract", why)))
    elif key:
        generated.append(E.ExpectCompoundColumnsToBeUnique(column_list=key, meta=_meta("contract", why)))
    generated.append(
        E.ExpectTableRowCountToBeBetween(
            min_value=1, meta=_meta("contract", f"a batch of {table} holds at least one row")
        )
    )
    return generated


def _column_expectations(contract: TableContract, column: Column) -> list[Expectation]:
    """What one contract column promises: never null, a pattern, allowed values, a range, uniqueness."""
    E = gx.expectations
    where = f"schemas/{contract.table}.yaml column '{column.name}'"

    def rule(kind: Callable[..., Expectation], because: str, **kwargs: Any) -> Expectation:
        return kind(column=column.name, meta=_meta("contract", f"{where} {because}"), **kwargs)

    expect = column.expect
    rules = []
    if not column.nullable:
        rules.append(rule(E.ExpectColumnValuesToNotBeNull, "is never null"))
    if "pattern" in expect:
        rules.append(
            rule(E.ExpectColumnValuesToMatchRegex, f"matches {expect['pattern']}", regex=str(expect["pattern"]))
        )
    if "allowed" in expect:
        allowed = list(expect["allowed"])
        rules.append(
            rule(E.ExpectColumnValuesToBeInSet, f"is one of {', '.join(map(str, allowed))}", value_set=allowed)
        )
    if "min" in expect or "max" in expect:
        low, high = expect.get("min"), expect.get("max")
        within = f"lies within [{_bound(low)}, {_bound(high)}]"
        rules.append(rule(E.ExpectColumnValuesToBeBetween, within, min_value=low, max_value=high))
    if expect.get("unique"):
        rules.append(rule(E.ExpectColumnValuesToBeUnique, "is unique"))
    return rules


def _from_config(contract: TableContract, config: Mapping[str, Any], origin: str, position: int) -> Expectation:
    """One raw Great Expectations config as an expectation, checked against the contract."""
    table = contract.qualified_name
    label = {"science": "science rule", "contract_yaml": "contract expectation", "extra": "extra expectation"}[origin]
    where = f"{table}: {label} {position}"
    if not isinstance(config, Mapping) or not isinstance(config.get("type"), str):
        raise ConfigError(
            f"{where} must be a mapping with a 'type' (e.g. expect_column_values_to_be_between) and 'kwargs'; "
            f"got {config!r}"
        )
    kind = config["type"]
    where = f"{where} ('{kind}')"
    kwargs = config.get("kwargs") or {}
    if not isinstance(kwargs, Mapping):
        raise ConfigError(f"{where}: 'kwargs' must be a mapping of the expectation's arguments, got {kwargs!r}")
    unknown_keys = set(config) - {"type", "kwargs", "meta"}
    if unknown_keys:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown_keys)}; a config has only type, kwargs and meta")
    missing = [c for c in expectation_columns(kind, kwargs) if c not in contract.column_names]
    if missing:
        raise ConfigError(
            f"{where}: column(s) {', '.join(missing)} not in schemas/{contract.table}.yaml; "
            f"known columns: {', '.join(contract.column_names)}"
        )
    meta = dict(config.get("meta") or {})
    meta.setdefault("why", f"{label} {position} of {table}")
    meta["origin"] = origin
    try:
        expectation = ExpectationConfiguration(type=kind, kwargs=dict(kwargs), meta=meta).to_domain_obj()
    except Exception as exc:  # Great Expectations raises its own errors and pydantic's for bad configs
        detail = " ".join(str(exc).split())
        raise ConfigError(
            f"{where}: not a valid Great Expectations 1.x expectation: {detail}; see the expectation's arguments "
            "in the Great Expectations gallery"
        ) from None
    return expectation


def _meta(origin: str, why: str) -> dict[str, str]:
    return {"origin": origin, "why": why}


def _bound(value: Any) -> str:
    return "" if value is None else str(value)
