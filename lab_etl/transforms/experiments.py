"""Mapped readings -> readings with their ELN experiment (project, protocol).

A reading's experiment is the one its layout names, else the experiment that lists the reading's plate among its
plates. Readings with neither are kept with ``experiment_status = no_experiment``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


def join_experiments(results: DataFrame, experiments: DataFrame) -> DataFrame:
    """Attach ``project`` and ``protocol_name`` from ``lab_silver.eln_experiments``; no row is dropped.

    When several experiments list the same plate, the smallest experiment id wins (deterministic); the layout's
    own ``experiment_id`` always takes precedence.
    """
    from pyspark.sql import functions as F

    by_plate = (
        experiments.select("experiment_id", F.explode(F.from_json("plate_ids", "array<string>")).alias("plate_id"))
        .groupBy("plate_id")
        .agg(F.min("experiment_id").alias("plate_experiment_id"))
    )
    details = experiments.select(
        F.col("experiment_id").alias("joined_experiment_id"), "project", "protocol_name"
    ).dropDuplicates(["joined_experiment_id"])
    linked = results.join(by_plate, "plate_id", "left").withColumn(
        "experiment_id", F.coalesce("experiment_id", "plate_experiment_id")
    )
    joined = linked.join(details, linked["experiment_id"] == details["joined_experiment_id"], "left")
    return joined.select(
        *[c for c in results.columns],
        "project",
        "protocol_name",
        F.when(F.col("joined_experiment_id").isNotNull(), "joined")
        .otherwise("no_experiment")
        .alias("experiment_status"),
    )
