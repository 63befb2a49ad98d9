"""What a run spends, step by step: wall time, Spark jobs, Delta commits and rows written.

``lab-etl run --profile`` prints it; ``bench/run.py`` records it. Spark jobs are counted through a job group per
step (Spark's own status tracker); commits and rows come from Delta's commit metrics of every write lab_etl makes
(:data:`lab_etl.lakehouse.delta.COMMIT_LISTENERS`), so measuring costs no extra job.

Examples
--------
>>> profile = RunProfile(spark)                                   # doctest: +SKIP
>>> with profile.step("bronze"):                                  # doctest: +SKIP
...     ingest(...)
>>> profile.rows()[0]                                             # doctest: +SKIP
StepProfile(step='bronze', seconds=4.2, spark_jobs=6, delta_commits=2, rows_written=2016)
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lab_etl.lakehouse import delta

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from lab_etl.lakehouse.delta import Commit


@dataclass(frozen=True)
class StepProfile:
    """One step of a run as measured."""

    step: str
    seconds: float
    spark_jobs: int
    delta_commits: int
    rows_written: int
    tables: tuple[str, ...] = ()


@dataclass
class RunProfile:
    """The steps of one run, measured as they run (see the module docstring)."""

    spark: SparkSession
    steps: list[StepProfile] = field(default_factory=list)
    _prefix: str = field(default_factory=lambda: "lab_etl-" + uuid.uuid4().hex[:8])

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Measure the block as the step ``name``."""
        context = self.spark.sparkContext
        group = f"{self._prefix}-{len(self.steps)}-{name}"
        commits: list[Commit] = []
        delta.COMMIT_LISTENERS.append(commits.append)
        context.setJobGroup(group, f"lab_etl {name}")
        started = time.perf_counter()
        try:
            yield
        finally:
            seconds = time.perf_counter() - started
            context.setLocalProperty("spark.jobGroup.id", None)  # type: ignore[arg-type]
            context.setLocalProperty("spark.job.description", None)  # type: ignore[arg-type]
            delta.COMMIT_LISTENERS.remove(commits.append)
            jobs = len(context.statusTracker().getJobIdsForGroup(group))
            self.steps.append(
                StepProfile(
                    name,
                    round(seconds, 3),
                    jobs,
                    len(commits),
                    sum(c.rows_written for c in commits),
                    tuple(dict.fromkeys(c.table for c in commits)),
                )
            )

    def total(self) -> StepProfile:
        """All steps added up."""
        return StepProfile(
            "total",
            round(sum(s.seconds for s in self.steps), 3),
            sum(s.spark_jobs for s in self.steps),
            sum(s.delta_commits for s in self.steps),
            sum(s.rows_written for s in self.steps),
        )

    def as_dicts(self) -> list[dict[str, object]]:
        """The steps and the total as plain dicts (for JSON)."""
        from dataclasses import asdict

        return [asdict(s) | {"tables": list(s.tables)} for s in [*self.steps, self.total()]]
