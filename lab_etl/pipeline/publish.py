"""Gated publishing: every silver and gold table is written here, and only after its data-quality gate passed.

A :class:`Publisher` lives for one run (or one Glue job). For each table it validates the rows the run is about to
write against the table's suite (:func:`lab_etl.quality.gate.validate`, one validation per table per run), then
replaces the rows of the run's plates in one Delta commit. A failing batch is not published: the table keeps its
last good version, the batch is written to ``<warehouse>/_quarantine/<table>/<run_id>`` for inspection, and the
failed expectations go to ``lab_bronze.dq_results`` with the others — appended once, at the end of the run
(:meth:`Publisher.write_results`) — and to the Data Docs (``<warehouse>/_data_docs``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from lab_etl.contracts import contract
from lab_etl.lakehouse import delta

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from lab_etl.lakehouse.delta import Commit
    from lab_etl.quality.gate import GateResult


@dataclass
class Publisher:
    """Gate-then-write for one run; collects the gates' results and what was held back."""

    spark: SparkSession
    run_id: str
    results: list[GateResult] = field(default_factory=list)
    held_back: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    def publish(
        self,
        frame: DataFrame,
        table: str,
        scope: list[str],
        *,
        write: DataFrame | None = None,
        skip_empty: bool = False,
    ) -> Commit | None:
        """Validate ``frame`` against ``table``'s suite; when it passes, replace the table's rows of ``scope``
        (plate ids) with it. Returns the commit, or None when the gate held the batch back or the scope is empty.

        ``write`` is the same rows as ``frame`` with observers attached (``DataFrame.observe``), so that the write
        itself counts what the report needs, with no extra Spark job. With ``skip_empty`` a batch without rows is
        no batch: no gate result, no write, None (the gate's own collection finds it empty, no extra job).
        """
        from lab_etl.lakehouse.spark import warehouse_location
        from lab_etl.quality.gate import validate

        if not scope:
            return None
        table_contract = contract(table)
        warehouse = warehouse_location(self.spark)
        # the Data Docs pages are rendered once, with the index, when the run's results are written
        result = validate(
            frame,
            table_contract,
            run_id=self.run_id,
            docs_dir=self._docs_dir(),
            build_docs=False,
            skip_empty=skip_empty,
        )
        if skip_empty and not result.batch_rows:
            return None
        self.results.append(result)
        if not result.success:
            held = f"{warehouse.rstrip('/')}/_quarantine/{table_contract.qualified_name}/{self.run_id}"
            frame.write.mode("overwrite").parquet(held)
            reasons = "; ".join(f.reason for f in result.failures)
            self.held_back.append(table_contract.qualified_name)
            self.lines.append(f"{table_contract.qualified_name} NOT published (kept in {held}): {reasons}")
            return None
        return delta.replace_scope(self.spark, write if write is not None else frame, table_contract, "plate_id", scope)

    def _docs_dir(self) -> Path | None:
        """``<warehouse>/_data_docs`` for a local warehouse; None (no Data Docs) on ``s3a://``."""
        from lab_etl.lakehouse.spark import is_local, warehouse_location

        warehouse = warehouse_location(self.spark)
        return Path(warehouse) / "_data_docs" if is_local(warehouse) else None

    def write_results(self) -> None:
        """Append every gate result of the run to ``lab_bronze.dq_results`` in one commit, and render the run's
        Data Docs pages (with the index) in one build."""
        if not self.results:
            return
        from lab_etl.quality.gate import append_results, build_docs

        docs_dir = self._docs_dir()
        if docs_dir is not None:
            build_docs(docs_dir)
        append_results(self.spark, self.results)
        self.results.clear()
