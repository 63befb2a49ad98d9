"""Data-quality gates: validate a batch against its table's suite before it is published.

:func:`validate` runs the suite of :func:`lab_etl.quality.expectations.suite_for` on a Spark DataFrame with Great
Expectations 1.x and returns a :class:`GateResult`: the verdict, each failed expectation with its column and a
readable reason, and one :class:`DqResult` row per expectation for ``lab_bronze.dq_results``. :func:`append_results`
appends those rows to ``lab_bronze.dq_results``. With ``docs_dir`` :func:`validate` also writes Great Expectations
Data Docs (HTML) there: an index of every run validated into that folder and one page per validation.

A failing batch raises nothing: ``success`` is False and the caller keeps the batch out of its table (quarantines
it, keeps the previous good version, and sets the run's exit code). :class:`~lab_etl.errors.DataQualityError` is
raised only for misuse (no run id, not a DataFrame, ``docs_dir`` a file) or, when the caller asks for it, by
:meth:`GateResult.raise_for_failure`.

One Great Expectations context is kept per process and Data Docs folder, so a gate costs the work of its
metrics, not a context's start-up. A batch of at most :data:`LOCAL_ROWS` rows (what one arrival brings) is brought
to the driver in ONE Spark job and validated there by Great Expectations' pandas engine: the same suite, the same
verdicts and counts (tested, expectation by expectation, against the Spark engine), about 0.1 s instead of the
12-25 small Spark jobs (1-2 s warm, more in a fresh JVM) that the Spark engine runs for the same suite. A larger
batch (a rebuild), or one whose float columns hold NaN (which pandas cannot tell from null), is validated by the
Spark engine where it lies. A cached batch (the pipeline persists what it gates and then writes) is counted first,
which fills the cache that the collection and the write then read, so that a batch too large is known as such
without collecting :data:`LOCAL_ROWS` + 1 of its rows (about 4 s of a 15 s silver gate at 1,000 plates); an
uncached one is collected with a limit of :data:`LOCAL_ROWS` + 1 rows to find out. Either way the suite runs in two
passes (pass/fail of everything, then counts and examples of the failures only). Data Docs keep their own stores (suites
and validation results as JSON) under ``<docs_dir>/_gx``, which is what lets the index list the runs of earlier
processes.

Examples
--------
>>> from lab_etl.contracts import contract
>>> result = validate(readings, contract("instrument_readings"), run_id="r1",
...                   docs_dir=Path("warehouse/_data_docs"))                    # doctest: +SKIP
>>> result.success, [f.expectation_type for f in result.failures]             # doctest: +SKIP
(False, ['expect_column_values_to_match_regex'])
>>> append_results(spark, [result])                                            # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import threading
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import great_expectations as gx
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context.types.base import (
    DataContextConfig,
    FilesystemStoreBackendDefaults,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)

from lab_etl.contracts import TableContract
from lab_etl.contracts import contract as load_table_contract
from lab_etl.errors import DataQualityError
from lab_etl.quality.expectations import expectation_columns, expectation_key, kwargs_json, suite_for

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    import pandas as pd
    from great_expectations.core import ExpectationSuiteValidationResult, ExpectationValidationResult
    from great_expectations.data_context import AbstractDataContext
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

#: Offending values kept per expectation (in reasons and ``unexpected_values_json``).
UNEXPECTED_VALUES_KEPT = 5

#: The Data Docs site lab_etl writes.
DOCS_SITE = "lab_etl"

#: Batches of at most this many rows are validated on the driver (one Spark job to collect them, Great
#: Expectations' pandas engine); larger ones by the Spark engine. ``LAB_ETL_GATE_LOCAL_ROWS`` overrides it (0: always
#: Spark).
LOCAL_ROWS = 200_000

_DATASOURCES = {"spark": "lab_etl_spark", "pandas": "lab_etl_local"}
_BATCH_DEFINITION = "whole_batch"
_NAN_FLAG = "__lab_etl_nan_"


@dataclass(frozen=True)
class FailedExpectation:
    """One expectation the batch did not meet, with the column(s) it is about and why, in words."""

    expectation_type: str
    column: str | None
    reason: str
    unexpected_count: int | None
    unexpected_values: tuple[Any, ...] = ()


@dataclass
class DqResult:
    """One row of ``lab_bronze.dq_results`` (see ``schemas/dq_results.yaml``)."""

    run_id: str
    table_name: str
    expectation_key: str
    expectation_type: str
    column_name: str | None
    kwargs_json: str
    origin: str
    success: bool
    element_count: int | None
    unexpected_count: int | None
    unexpected_percent: float | None
    unexpected_values_json: str | None
    observed_value_json: str | None
    reason: str | None
    evaluated_at: datetime


@dataclass(frozen=True)
class GateResult:
    """The verdict of one gate on one batch.

    ``rows`` holds one :class:`DqResult` per expectation evaluated (passed or failed); ``failures`` the failed ones
    with a readable reason; ``docs_page`` the batch's Data Docs page when this validation rendered it (``docs_dir``
    given, ``build_docs`` True).
    """

    table_name: str
    run_id: str
    success: bool
    failures: tuple[FailedExpectation, ...]
    rows: tuple[DqResult, ...]
    docs_index: Path | None = None
    docs_page: Path | None = None
    seconds: float = 0.0
    statistics: dict[str, Any] = field(default_factory=dict)
    engine: str = "spark"  # where the metrics were computed: "pandas" (batch collected in one job) or "spark"
    batch_rows: int = 0

    @property
    def failed_types(self) -> list[str]:
        """The types of the failed expectations, in suite order."""
        return [failure.expectation_type for failure in self.failures]

    def summary(self) -> str:
        """One paragraph for logs and the run's report: the verdict and each failure's reason.

        Examples
        --------
        >>> GateResult("lab_gold.plate_qc", "r1", True, (), ()).summary()
        'lab_gold.plate_qc passed 0 expectations (run r1)'
        """
        if self.success:
            return f"{self.table_name} passed {len(self.rows)} expectations (run {self.run_id})"
        lines = [
            f"{self.table_name} failed {len(self.failures)} of {len(self.rows)} expectations (run {self.run_id}); "
            "the batch was not published:"
        ]
        lines += [f"  - {failure.reason}" for failure in self.failures]
        return "\n".join(lines)

    def raise_for_failure(self) -> None:
        """Raise :class:`DataQualityError` with :meth:`summary` when the batch failed; do nothing when it passed."""
        if not self.success:
            raise DataQualityError(self.summary())


def validate(
    df: DataFrame,
    contract: TableContract | str,
    *,
    run_id: str,
    docs_dir: Path | None = None,
    extra: Sequence[Mapping[str, Any]] = (),
    build_docs: bool = True,
    engine: str = "auto",
    skip_empty: bool = False,
) -> GateResult:
    """Validate one batch against its table's suite; write nothing but Data Docs.

    Parameters
    ----------
    df:
        The batch, shaped like the table (extra columns are allowed and ignored).
    contract:
        The table's contract, or its bare name (``"plate_qc"``).
    run_id:
        The pipeline run; names the validation in Data Docs and in ``lab_bronze.dq_results``.
    docs_dir:
        A folder for Great Expectations Data Docs (e.g. ``<warehouse>/_data_docs``); None writes none.
    extra:
        Further raw Great Expectations configs for this batch (see :func:`~lab_etl.quality.expectations.suite_for`).
    build_docs:
        With ``docs_dir``: render the Data Docs pages now (True), or only store the result so that one
        :func:`build_docs` call renders the pages of many validations, and the index, once (False: what a pipeline
        run does, one build per run instead of one per table).
    engine:
        ``"auto"``: a batch of at most :data:`LOCAL_ROWS` rows without NaN is collected in one Spark job and
        validated by Great Expectations' pandas engine, any other by its Spark engine; ``"spark"``: always the Spark
        engine. The verdicts and counts are the same either way; ``GateResult.engine`` says which ran.
    skip_empty:
        When the batch has no rows, evaluate nothing and store no Data Docs: the result passes with no rows and
        ``batch_rows`` 0 (for a caller to whom an empty batch is no batch at all; by default an empty batch fails
        the row count).

    Returns
    -------
    GateResult
        ``success`` False when any expectation failed; never raises for a failing batch.

    Raises
    ------
    DataQualityError
        For misuse: ``df`` is not a Spark DataFrame, ``run_id`` is empty, ``docs_dir`` is a file, or ``engine`` is
        neither ``"auto"`` nor ``"spark"``.
    ConfigError
        The table's suite cannot be built (a bad ``expectations:`` entry in its contract or in ``extra``).

    Examples
    --------
    >>> result = validate(plate_qc_frame, "plate_qc", run_id="r1")                 # doctest: +SKIP
    >>> result.success                                                            # doctest: +SKIP
    True
    """
    import time

    table = _resolve_contract(contract)
    _check_use(df, run_id, docs_dir, engine)
    suite = suite_for(table, extra=extra)
    origins = {expectation_key(e.expectation_type, e.configuration.kwargs): e.meta or {} for e in suite.expectations}
    started = time.perf_counter()
    evaluated_at = datetime.now(UTC)
    runtime = _runtime(docs_dir)
    # A cached batch (what the pipeline gates, then writes) is counted first: that job fills the cache, which the
    # collection and the caller's write then read, and a batch too large for the driver is known as such without
    # collecting LOCAL_ROWS + 1 of its rows to find out. A cache filled already tells its size without a job.
    counted = None
    size = None
    if engine == "auto" and df.is_cached:
        size = _filled_cache_rows(df)
        if size is None:
            size = counted = df.count()
    local = _local_batch(df, _local_rows(), size) if engine == "auto" else None
    used = "spark" if local is None else "pandas"
    # On the Spark engine every expectation is at least one Spark job over the batch: compute the batch once.
    persisted = local is None and not df.is_cached
    batch: DataFrame | pd.DataFrame = local if local is not None else df.persist() if persisted else df
    try:
        batch_rows = len(local) if local is not None else counted if counted is not None else df.count()
        if skip_empty and not batch_rows:
            return GateResult(table.qualified_name, run_id, True, (), (), engine=used)
        with runtime.lock:
            outcome, docs_page = runtime.run(table, suite, batch, used, run_id, evaluated_at, build_docs=build_docs)
    finally:
        if persisted:
            df.unpersist()
    rows: list[DqResult] = []
    failures: list[FailedExpectation] = []
    for expectation_result in outcome.results:
        row, failure = _row(expectation_result, table, run_id, evaluated_at, origins, batch_rows)
        rows.append(row)
        if failure is not None:
            failures.append(failure)
    seconds = time.perf_counter() - started
    result = GateResult(
        table_name=table.qualified_name,
        run_id=run_id,
        success=bool(outcome.success) and not failures,
        failures=tuple(failures),
        rows=tuple(rows),
        docs_index=(docs_dir / "index.html") if docs_dir is not None else None,
        docs_page=docs_page,
        seconds=seconds,
        statistics=dict(outcome.statistics or {}),
        engine=used,
        batch_rows=batch_rows,
    )
    log.info("%s (%.1f s, %s engine)", result.summary(), seconds, result.engine)
    return result


def append_results(spark: SparkSession, results: Iterable[GateResult]) -> None:
    """Append the rows of gate results (one per expectation, :func:`validate`) to ``lab_bronze.dq_results``.

    All the results go in one Delta commit, whether their batches passed or not; publishing a batch (or keeping it
    out) is the caller's decision, taken on ``result.success``. No commit when the results hold no rows.

    Examples
    --------
    >>> result = validate(frame, "plate_qc", run_id="r1")                              # doctest: +SKIP
    >>> append_results(spark, [result])                                                  # doctest: +SKIP
    >>> spark.table("lab_bronze.dq_results").where("NOT success").count()             # doctest: +SKIP
    0
    """
    from lab_etl.lakehouse.delta import append
    from lab_etl.lakehouse.frames import records_frame

    rows = [row for result in results for row in result.rows]
    if rows:
        dq_results = load_table_contract("dq_results")
        append(spark, records_frame(spark, rows, dq_results), dq_results)


def results_frame(spark: SparkSession, result: GateResult) -> DataFrame:
    """The result's rows as a DataFrame shaped like ``lab_bronze.dq_results``.

    Examples
    --------
    >>> results_frame(spark, result).count() == len(result.rows)                    # doctest: +SKIP
    True
    """
    from lab_etl.lakehouse.frames import records_frame

    return records_frame(spark, result.rows, load_table_contract("dq_results"))


# --- the Great Expectations context of the process -------------------------------------------------------------


class _Runtime:
    """One Great Expectations context with its Spark data source, and the run of one table's suite on it.

    A suite runs in two passes. The first asks only pass/fail of every expectation (``BOOLEAN_ONLY``): Great
    Expectations then computes the unexpected counts of all column expectations in a few aggregate Spark jobs.
    Only the expectations that failed run again with counts and example values (``BASIC``), which costs one
    more Spark job each. A good batch therefore costs about a third of the jobs of one ``BASIC`` pass.
    """

    def __init__(self, docs_dir: Path | None) -> None:
        self.docs_dir = docs_dir
        self.lock = threading.Lock()
        self.pending: list[Any] = []  # suite and result ids stored but not rendered yet
        self.context: AbstractDataContext = gx.get_context(mode="ephemeral", project_config=_project_config(docs_dir))
        self.datasources: dict[str, Any] = {}

    def run(
        self,
        table: TableContract,
        suite: gx.ExpectationSuite,
        df: DataFrame | pd.DataFrame,
        engine: str,
        run_id: str,
        evaluated_at: datetime,
        *,
        build_docs: bool = True,
    ) -> tuple[ExpectationSuiteValidationResult, Path | None]:
        """Validate ``df`` against ``suite`` on ``engine``: a Spark DataFrame on ``"spark"``, a pandas one on
        ``"pandas"``."""
        from great_expectations.validator.v1_validator import Validator

        validator = Validator(
            batch_definition=self._batch_definition(table.qualified_name, engine),
            batch_parameters={"dataframe": df},
            result_format="BOOLEAN_ONLY",
        )
        with warnings.catch_warnings():
            # the pandas engine matches a regex with str.contains, which warns when the pattern has groups (the
            # contracts' well pattern does): the match is wanted, not the groups
            warnings.filterwarnings("ignore", "This pattern is interpreted as a regular expression", UserWarning)
            outcome = validator.validate_expectation_suite(suite)
            failed = [i for i, result in enumerate(outcome.results) if not result.success]
            if failed:
                validator.result_format = {"result_format": "BASIC", "partial_unexpected_count": UNEXPECTED_VALUES_KEPT}
                for i in failed:
                    config = outcome.results[i].expectation_config
                    assert config is not None
                    outcome.results[i] = validator.validate_expectation(config.to_domain_obj())
        gx_run_id = RunIdentifier(run_name=run_id, run_time=evaluated_at)
        # What ValidationDefinition.run adds; Data Docs show it.
        meta = cast("dict[str, Any]", outcome.meta)
        meta.update(run_id=gx_run_id, validation_time=evaluated_at, batch_parameters={"dataframe": "<DataFrame>"})
        if self.docs_dir is None:
            return outcome, None
        return outcome, self._write_docs(suite, outcome, gx_run_id, validator.active_batch_id, build=build_docs)

    def _batch_definition(self, asset_name: str, engine: str) -> Any:
        if engine not in self.datasources:
            sources = self.context.data_sources
            add = sources.add_spark if engine == "spark" else sources.add_pandas
            self.datasources[engine] = add(name=_DATASOURCES[engine])
        datasource = self.datasources[engine]
        try:
            asset = datasource.get_asset(asset_name)
        except LookupError:
            asset = datasource.add_dataframe_asset(name=asset_name)
        try:
            return asset.get_batch_definition(_BATCH_DEFINITION)
        except KeyError:
            return asset.add_batch_definition_whole_dataframe(_BATCH_DEFINITION)

    def _write_docs(
        self,
        suite: gx.ExpectationSuite,
        outcome: ExpectationSuiteValidationResult,
        run: RunIdentifier,
        batch_id: str | None,
        *,
        build: bool,
    ) -> Path | None:
        """Store the suite and the result (JSON under ``_gx``); render their pages and the index now, or leave them
        for :meth:`build_pending` (``build`` False). Returns the result's page when it was rendered now."""
        from great_expectations.data_context.types.resource_identifiers import (
            ExpectationSuiteIdentifier,
            ValidationResultIdentifier,
        )

        self.context.suites.add_or_update(suite)
        suite_id = ExpectationSuiteIdentifier(name=suite.name)
        result_id = ValidationResultIdentifier(
            expectation_suite_identifier=suite_id, run_id=run, batch_identifier=batch_id
        )
        self.context.validation_results_store.set(result_id, outcome)
        self.pending += [suite_id, result_id]
        if build:
            self.build_pending()
        urls = self.context.get_docs_sites_urls(resource_identifier=result_id, site_name=DOCS_SITE)
        url = urls[0].get("site_url") if urls else None
        if not url or not url.startswith("file://"):
            return None
        return Path(url.removeprefix("file://"))

    def build_pending(self) -> None:
        """Render the pages of the stored results not rendered yet, and the index, in one Data Docs build."""
        if self.docs_dir is None or not self.pending:
            return
        self.context.build_data_docs(site_names=[DOCS_SITE], resource_identifiers=cast("Any", self.pending))
        self.pending = []


def build_docs(docs_dir: Path) -> None:
    """Render the Data Docs of every validation into ``docs_dir`` made with ``build_docs=False`` (see
    :func:`validate`): their pages and the index, in one build."""
    runtime = _runtime(docs_dir)
    with runtime.lock:
        runtime.build_pending()


_RUNTIMES: dict[str, _Runtime] = {}
_RUNTIMES_LOCK = threading.Lock()


def _runtime(docs_dir: Path | None) -> _Runtime:
    key = str(docs_dir.resolve()) if docs_dir is not None else ""
    with _RUNTIMES_LOCK:
        if key not in _RUNTIMES:
            _RUNTIMES[key] = _Runtime(docs_dir.resolve() if docs_dir is not None else None)
        return _RUNTIMES[key]


def _project_config(docs_dir: Path | None) -> DataContextConfig:
    """In-memory stores without docs; with docs, JSON stores under ``<docs_dir>/_gx`` and the HTML site in docs_dir."""
    quiet = ProgressBarsConfig(globally=False)
    if docs_dir is None:
        return DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
            data_docs_sites={},
            analytics_enabled=False,
            progress_bars=quiet,
        )
    site = {
        "class_name": "SiteBuilder",
        "show_how_to_buttons": False,
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    }
    return DataContextConfig(
        store_backend_defaults=FilesystemStoreBackendDefaults(root_directory=str(docs_dir / "_gx")),
        data_docs_sites={DOCS_SITE: site},
        analytics_enabled=False,
        progress_bars=quiet,
    )


# --- the batch on the driver -------------------------------------------------------------------------------------


def _local_rows() -> int:
    """:data:`LOCAL_ROWS`, or ``LAB_ETL_GATE_LOCAL_ROWS`` when set."""
    import os

    value = os.environ.get("LAB_ETL_GATE_LOCAL_ROWS", "").strip()
    return int(value) if value else LOCAL_ROWS


def _local_batch(df: DataFrame, limit: int, rows: int | None = None) -> pd.DataFrame | None:
    """The whole batch as a pandas DataFrame, collected in one Spark job; None when it has more than ``limit`` rows
    or a float column holds NaN (pandas reads NaN as null, Spark does not: the Spark engine keeps them apart).

    ``rows`` is the batch's row count when the caller has counted it: a batch of more than ``limit`` rows is then
    refused without a job, and a smaller one is collected whole (no ``limit`` in the plan, whose incremental scans
    cost a job per try).

    The NaN test rides in the same job: one flag column per float column, dropped after the collection.
    """
    from pyspark.sql import functions as F
    from pyspark.sql.types import DoubleType, FloatType

    if limit <= 0 or (rows is not None and rows > limit):
        return None
    floats = [f.name for f in df.schema.fields if isinstance(f.dataType, DoubleType | FloatType)]
    flags = [f"{_NAN_FLAG}{i}" for i in range(len(floats))]
    marked = df.select("*", *[F.isnan(F.col(f"`{c}`")).alias(flag) for c, flag in zip(floats, flags, strict=True)])
    local = cast("pd.DataFrame", (marked if rows is not None else marked.limit(limit + 1)).toPandas())
    if len(local) > limit:
        return None
    if flags and bool(local[flags].fillna(False).astype(bool).to_numpy().any()):
        return None
    return local.drop(columns=flags)


def _filled_cache_rows(df: DataFrame) -> int | None:
    """The rows of a cached batch whose cache is filled, from the cache's own statistics (no Spark job); None when
    the cache is not filled yet or Spark's internals do not answer.

    The figure only picks the engine: a partition computed twice would count twice, so the rows a gate reports are
    always counted on the batch itself.
    """
    try:
        jvm_cache = df.sparkSession._jsparkSession.sharedState().cacheManager()
        cached = jvm_cache.lookupCachedData(df._jdf)
        if not cached.isDefined():
            return None
        relation = cached.get().cachedRepresentation()
        if not relation.cacheBuilder().isCachedColumnBuffersLoaded():
            return None
        count = relation.computeStats().rowCount()
        return int(count.get()) if count.isDefined() else None  # py4j gives the BigInt as an int
    except Exception:  # an internal API: without it the batch is counted, like any other
        return None


def _plain(value: Any) -> Any:
    """A value of a validation result as plain Python: numpy scalars and pandas timestamps from the pandas engine
    become the ints, floats, datetimes and None the Spark engine gives, so that both write the same rows."""
    import math

    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp
        return value.to_pydatetime()
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


# --- results -> rows and reasons --------------------------------------------------------------------------------


def _resolve_contract(contract: TableContract | str) -> TableContract:
    if isinstance(contract, TableContract):
        return contract
    if isinstance(contract, str):
        return load_table_contract(contract)
    raise DataQualityError(
        f"a gate needs a table contract (lab_etl.contracts.contract('plate_qc')) or a table name, "
        f"not {type(contract).__name__}"
    )


def _check_use(df: Any, run_id: Any, docs_dir: Path | None, engine: str = "auto") -> None:
    from pyspark.sql import DataFrame

    if engine not in ("auto", "spark"):
        raise DataQualityError(f"a gate's engine is 'auto' or 'spark', not {engine!r}")
    if not isinstance(df, DataFrame):
        raise DataQualityError(
            f"a gate validates a Spark DataFrame, not {type(df).__name__}; build one with "
            "lab_etl.lakehouse.frames.records_frame"
        )
    if not isinstance(run_id, str) or not run_id.strip():
        raise DataQualityError(f"a gate needs the pipeline's run id (a non-empty string), got {run_id!r}")
    if docs_dir is not None and Path(docs_dir).exists() and not Path(docs_dir).is_dir():
        raise DataQualityError(f"docs_dir {docs_dir} is a file; give a folder for the Data Docs (e.g. _data_docs)")


def _row(
    outcome: ExpectationValidationResult,
    table: TableContract,
    run_id: str,
    evaluated_at: datetime,
    metas: Mapping[str, Mapping[str, Any]],
    batch_rows: int,
) -> tuple[DqResult, FailedExpectation | None]:
    config = outcome.expectation_config
    assert config is not None  # a suite's validation result always carries its expectation
    kind = config.type
    kwargs = config.kwargs
    key = expectation_key(kind, kwargs)
    meta = metas.get(key) or config.meta or {}
    columns = expectation_columns(kind, kwargs)
    column = ", ".join(columns) or None
    measured = _plain(dict(outcome.result or {}))
    if outcome.success and not measured:
        measured = _passed_measures(config, batch_rows)
    values = list(measured.get("partial_unexpected_list") or [])[:UNEXPECTED_VALUES_KEPT]
    error = _exception_message(outcome.exception_info)
    success = bool(outcome.success) and error is None
    reason = None if success else _reason(kind, kwargs, measured, values, error, table, meta)
    observed = measured.get("observed_value")
    row = DqResult(
        run_id=run_id,
        table_name=table.qualified_name,
        expectation_key=key,
        expectation_type=kind,
        column_name=column,
        kwargs_json=kwargs_json(kwargs),
        origin=str(meta.get("origin", "extra")),
        success=success,
        element_count=_int(measured.get("element_count")),
        unexpected_count=_int(measured.get("unexpected_count")),
        unexpected_percent=_float(measured.get("unexpected_percent")),
        unexpected_values_json=_json(values) if values else None,
        observed_value_json=None if observed is None else _json(observed),
        reason=reason,
        evaluated_at=evaluated_at,
    )
    failure = None
    if not success:
        assert reason is not None
        failure = FailedExpectation(kind, column, reason, row.unexpected_count, tuple(values))
    return row, failure


def _passed_measures(config: Any, batch_rows: int) -> dict[str, Any]:
    """The counts of an expectation that passed the pass/fail-only first pass, where they follow from passing.

    A row-wise expectation without ``mostly`` that passed had no unexpected rows; without a row condition it saw
    every row of the batch. A passed row count observed the batch's rows. Anything else stays unknown (null).
    """
    kwargs = config.kwargs
    if config.type == "expect_table_row_count_to_be_between":
        return {"observed_value": batch_rows}
    is_row_wise = getattr(config.to_domain_obj(), "map_metric", None) is not None
    if not is_row_wise or (kwargs.get("mostly") is not None and kwargs["mostly"] < 1):
        return {}
    measures: dict[str, Any] = {"unexpected_count": 0}
    if not kwargs.get("row_condition"):
        measures.update(element_count=batch_rows, unexpected_percent=0.0)
    return measures


def _reason(
    kind: str,
    kwargs: Mapping[str, Any],
    measured: Mapping[str, Any],
    values: list[Any],
    error: str | None,
    table: TableContract,
    meta: Mapping[str, Any],
) -> str:
    """Why an expectation failed, for a lab data engineer: what, how many, a few examples, and the rule's why."""
    columns = expectation_columns(kind, kwargs)
    subject = f"{table.qualified_name}.{'/'.join(columns)}" if columns else table.qualified_name
    why = meta.get("why")
    because = f" (rule: {why})" if why else ""
    if error is not None:
        return f"{subject}: {kind} could not be evaluated: {error}{because}"
    count, total = measured.get("unexpected_count"), measured.get("element_count")
    rows = f"{count} of {total} rows" if count is not None and total is not None else "some rows"
    examples = f", e.g. {_json(values)}" if values else ""
    condition = kwargs.get("row_condition")
    where = f" where {_condition_text(condition)}" if condition else ""
    if kind == "expect_column_values_to_not_be_null":
        text = f"{rows} have no value; the column may not be null"
    elif kind == "expect_column_values_to_match_regex":
        text = f"{rows} do not match {kwargs.get('regex')}{examples}"
    elif kind == "expect_column_values_to_be_in_set":
        allowed = ", ".join(map(str, kwargs.get("value_set") or []))
        text = f"{rows} are not one of [{allowed}]{examples}"
    elif kind == "expect_column_values_to_be_between":
        low, high = kwargs.get("min_value"), kwargs.get("max_value")
        text = f"{rows}{where} lie outside [{'' if low is None else low}, {'' if high is None else high}]{examples}"
    elif kind in ("expect_compound_columns_to_be_unique", "expect_column_values_to_be_unique"):
        text = f"{rows} share their key ({', '.join(columns)}) with another row{examples}"
    elif kind == "expect_table_row_count_to_be_between":
        text = f"the batch has {measured.get('observed_value')} rows; expected at least {kwargs.get('min_value')}"
    elif kind == "expect_table_columns_to_match_set":
        present = set(measured.get("observed_value") or [])
        missing = [c for c in kwargs.get("column_set") or [] if c not in present]
        text = f"the batch lacks the contract's columns {', '.join(missing) or '(none)'}"
    elif count is not None:
        text = f"{rows}{where} fail {kind}{examples}"
    else:
        text = f"{kind} failed; observed {_json(measured.get('observed_value'))}"
    return f"{subject}: {text}{because}"


def _condition_text(condition: Any) -> str:
    """A row condition in words: ``measurement == yield`` (serialised or as a Great Expectations object)."""
    plain = condition.dict() if hasattr(condition, "dict") and not isinstance(condition, dict) else condition
    if isinstance(plain, dict) and plain.get("type") == "comparison":
        return f"{plain['column']['name']} {plain['operator']} {plain['parameter']}"
    if isinstance(plain, dict) and plain.get("type") == "nullity":
        return f"{plain['column']['name']} IS {'NULL' if plain['is_null'] else 'NOT NULL'}"
    return str(condition)


def _exception_message(info: Any) -> str | None:
    """The message of an exception raised while evaluating an expectation, if one was."""
    if not isinstance(info, dict):
        return None
    if info.get("raised_exception"):
        return " ".join(str(info.get("exception_message") or "unknown error").split())[:500]
    for nested in info.values():  # keyed by metric when several metrics failed
        if isinstance(nested, dict) and nested.get("raised_exception"):
            return " ".join(str(nested.get("exception_message") or "unknown error").split())[:500]
    return None


def _json(value: Any) -> str:
    return json.dumps(value, default=str, sort_keys=True)


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)
