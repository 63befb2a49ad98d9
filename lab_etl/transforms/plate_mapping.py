"""Readings -> readings with what their well held (layout role, sample, dose), on plate id + well.

Readings without a layout are kept (``layout_status = no_layout``); their role then comes from the sample name the
instrument wrote (Gen5's ``POSCON``, SoftMax's ``Blank`` ...) when that names a role, else ``sample``.

Examples
--------
>>> mapped = map_layouts(readings, layouts)          # doctest: +SKIP
>>> mapped.groupBy("layout_status").count().show()   # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from lab_etl.plates import GEOMETRY

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

_LAYOUT_COLUMNS = ("role", "sample_name", "concentration", "concentration_unit", "experiment_id")


def edge_well(row_index: Column, column_index: Column, plate_format: Column) -> Column:
    """True for wells on the outer ring of their plate (first/last row or column)."""
    from pyspark.sql import functions as F

    rows = F.lit(None).cast("int")
    columns = F.lit(None).cast("int")
    for fmt, (n_rows, n_columns) in GEOMETRY.items():
        rows = F.when(plate_format == fmt, F.lit(n_rows)).otherwise(rows)
        columns = F.when(plate_format == fmt, F.lit(n_columns)).otherwise(columns)
    return (row_index == 1) | (row_index == rows) | (column_index == 1) | (column_index == columns)


def map_layouts(readings: DataFrame, layouts: DataFrame, role_of: Callable[[str], str] | None = None) -> DataFrame:
    """Left-join readings to plate layouts on ``plate_id`` + ``well``; no reading is dropped.

    Parameters
    ----------
    readings:
        Rows shaped like ``lab_bronze.instrument_readings``.
    layouts:
        Rows shaped like ``lab_silver.plate_layouts`` (may be empty).
    role_of:
        Maps an instrument's sample name to a well role; defaults to
        :func:`lab_etl.layouts.roles.role_from_sample_name`.

    Returns
    -------
    DataFrame
        The readings plus ``role``, layout ``sample_name`` (else the instrument's), ``concentration``,
        ``concentration_unit``, ``experiment_id``, ``layout_status`` and ``is_edge``.
    """
    import pandas as pd
    from pyspark.sql import functions as F

    if role_of is None:
        from lab_etl.layouts.roles import role_from_sample_name

        role_of = role_from_sample_name
    spark = readings.sparkSession
    layout = layouts.select(
        "plate_id", "well", *[F.col(c).alias(f"layout_{c}") for c in _LAYOUT_COLUMNS]
    ).dropDuplicates(["plate_id", "well"])
    names = [r[0] for r in readings.select("sample_name").where(F.col("sample_name").isNotNull()).distinct().collect()]
    # the role words are few: map them on the driver once, then join, instead of a Python UDF per reading; the
    # roles go through pandas (Arrow) so that reading them needs no Python worker (strings: the same values)
    roles = spark.createDataFrame(
        pd.DataFrame({"sample_name": names, "instrument_role": [role_of(n) for n in names]}, dtype=object),
        "sample_name string, instrument_role string",
    )
    joined = readings.join(layout, ["plate_id", "well"], "left").join(F.broadcast(roles), "sample_name", "left")
    has_layout = F.col("layout_role").isNotNull()
    return joined.select(
        *[c for c in readings.columns if c != "sample_name"],
        F.coalesce("layout_role", "instrument_role", F.lit("sample")).alias("role"),
        F.coalesce("layout_sample_name", "sample_name").alias("sample_name"),
        F.col("layout_concentration").alias("concentration"),
        F.col("layout_concentration_unit").alias("concentration_unit"),
        F.col("layout_experiment_id").alias("experiment_id"),
        F.when(has_layout, "mapped").otherwise("no_layout").alias("layout_status"),
        edge_well(F.col("row_index"), F.col("column_index"), F.col("plate_format")).alias("is_edge"),
    )
