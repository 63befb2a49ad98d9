"""Plate QC and normalisation.

Per plate read (plate and source file), measurement and channel, on the plate's last read (the endpoint of a
kinetic read; read 1 of an endpoint read), from the wells' roles:

- Z'-factor (Zhang, Chung & Oldenburg 1999): ``1 - 3 (sd_pos + sd_neg) / |mean_pos - mean_neg|``, sample standard
  deviations; above 0.5 an assay separates its controls well.
- signal-to-background: ``mean_pos / mean_neg``.
- CV of each control group and of the blanks, in percent (``100 sd / mean``).
- edge effect: ``100 (mean of outer-ring sample wells - mean of inner sample wells) / mean of inner sample wells``;
  evaporation in the outer ring shows as a large positive or negative value.
- flagged wells: readings with an instrument flag (overflow, missing ...).

``qc_pass`` is true when every statistic that can be computed is within :class:`QcThresholds`; it is null when the
plate has no positive and negative controls to judge it by, and ``qc_reasons`` says why.

Normalisation (:func:`normalise`): ``percent_of_control = 100 value / mean_neg`` (the negative control is the
untreated, 100 % signal) and ``percent_inhibition = 100 (mean_neg - value) / (mean_neg - mean_pos)`` (0 % at the
negative control, 100 % at the positive, full-effect control).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from lab_etl.errors import ConfigError

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

#: one QC row per plate read: plate ids such as Gen5's "Plate 1" repeat across files, so the file is part of it
GROUP = ["source_sha256", "plate_id", "measurement", "channel"]

#: The plate metrics :func:`plate_qc` computes, in its output's order (a report lists them in this order too).
METRICS = (
    "z_prime",
    "signal_to_background",
    "positive_cv_pct",
    "negative_cv_pct",
    "blank_cv_pct",
    "edge_effect_pct",
)


@dataclass(frozen=True)
class QcThresholds:
    """Pass/fail limits; the defaults are common HTS practice."""

    min_z_prime: float = 0.5
    max_control_cv_pct: float = 20.0
    max_abs_edge_effect_pct: float = 20.0
    max_flagged_fraction: float = 0.1

    def __post_init__(self) -> None:
        if not -1e9 < self.min_z_prime <= 1:
            raise ConfigError(f"min_z_prime must be at most 1, not {self.min_z_prime}")
        for name in ("max_control_cv_pct", "max_abs_edge_effect_pct", "max_flagged_fraction"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must not be negative")


def last_reads(results: DataFrame, *, per_well: bool = False) -> DataFrame:
    """The rows of the last read per plate, measurement and channel (kinetic endpoint).

    With ``per_well`` each well keeps its own last read, so that a well missing the plate's final cycle is not lost.
    """
    from pyspark.sql import functions as F
    from pyspark.sql.window import Window

    keys = [*GROUP, "well"] if per_well else GROUP
    last = F.max("read_index").over(Window.partitionBy(*keys))
    return results.withColumn("_last", last).where(F.col("read_index") == F.col("_last")).drop("_last")


def _cv(values: Column) -> Column:
    from pyspark.sql import functions as F

    return F.when(F.mean(values) != 0, 100 * F.stddev_samp(values) / F.abs(F.mean(values)))


def plate_qc(results: DataFrame, thresholds: QcThresholds | None = None) -> DataFrame:
    """Rows shaped like ``lab_gold.plate_qc`` from rows shaped like ``lab_silver.plate_results``."""
    from pyspark.sql import functions as F

    limits = thresholds or QcThresholds()
    reads = last_reads(results)
    value = F.col("value")
    role = F.col("role")

    def of(kind: str) -> Column:
        return F.when(role == kind, value)

    sample = F.when(role == "sample", value)
    stats = reads.groupBy(*GROUP).agg(
        F.first("source_file").alias("source_file"),
        F.max("read_index").alias("read_index"),
        F.count(F.lit(1)).alias("wells"),
        F.count(F.col("flag")).alias("flagged_wells"),
        F.count(of("positive_control")).alias("positive_controls"),
        F.count(of("negative_control")).alias("negative_controls"),
        F.mean(of("positive_control")).alias("positive_mean"),
        F.stddev_samp(of("positive_control")).alias("positive_sd"),
        F.mean(of("negative_control")).alias("negative_mean"),
        F.stddev_samp(of("negative_control")).alias("negative_sd"),
        _cv(of("positive_control")).alias("positive_cv_pct"),
        _cv(of("negative_control")).alias("negative_cv_pct"),
        _cv(of("blank")).alias("blank_cv_pct"),
        F.mean(F.when(F.col("is_edge"), sample)).alias("_edge_mean"),
        F.mean(F.when(~F.col("is_edge"), sample)).alias("_inner_mean"),
    )
    separation = F.abs(F.col("positive_mean") - F.col("negative_mean"))
    z_prime = F.when(separation > 0, 1 - 3 * (F.col("positive_sd") + F.col("negative_sd")) / separation)
    edge = F.when(F.col("_inner_mean") != 0, 100 * (F.col("_edge_mean") - F.col("_inner_mean")) / F.col("_inner_mean"))
    judged = stats.withColumns(
        {
            "z_prime": z_prime,
            "signal_to_background": F.when(
                F.col("negative_mean") != 0, F.col("positive_mean") / F.col("negative_mean")
            ),
            "edge_effect_pct": edge,
        }
    )
    has_controls = (F.col("positive_controls") >= 2) & (F.col("negative_controls") >= 2)
    failures = [
        (F.col("z_prime").isNull() | (F.col("z_prime") < limits.min_z_prime), f"Z' below {limits.min_z_prime}"),
        (
            F.col("positive_cv_pct") > limits.max_control_cv_pct,
            f"positive-control CV above {limits.max_control_cv_pct}%",
        ),
        (
            F.col("negative_cv_pct") > limits.max_control_cv_pct,
            f"negative-control CV above {limits.max_control_cv_pct}%",
        ),
        (
            F.abs(F.col("edge_effect_pct")) > limits.max_abs_edge_effect_pct,
            f"edge effect beyond {limits.max_abs_edge_effect_pct}%",
        ),
        (
            F.col("flagged_wells") > limits.max_flagged_fraction * F.col("wells"),
            f"more than {limits.max_flagged_fraction:.0%} of wells flagged",
        ),
    ]
    reasons = F.concat_ws("; ", *[F.when(condition, F.lit(text)) for condition, text in failures])
    return judged.select(
        *GROUP,
        "source_file",
        "read_index",
        "wells",
        "flagged_wells",
        "positive_controls",
        "negative_controls",
        "positive_mean",
        "positive_sd",
        "negative_mean",
        "negative_sd",
        *METRICS,
        F.when(has_controls, reasons == "").alias("qc_pass"),
        F.when(has_controls, F.when(reasons != "", reasons))
        .otherwise(F.lit("fewer than two positive and two negative controls: not judged"))
        .alias("qc_reasons"),
    )


def normalise(results: DataFrame, qc: DataFrame) -> DataFrame:
    """Add ``percent_of_control``, ``percent_inhibition`` and ``qc_pass`` from the plate's controls (see module doc)."""
    from pyspark.sql import functions as F

    controls = qc.select(*GROUP, F.col("read_index").alias("_qc_read"), "positive_mean", "negative_mean", "qc_pass")
    joined = results.join(controls, GROUP, "left")
    # controls are those of the read QC judged (the last): other kinetic reads are not normalised with them
    same_read = F.col("read_index") == F.col("_qc_read")
    value, pos, neg = F.col("value"), F.col("positive_mean"), F.col("negative_mean")
    return joined.select(
        *results.columns,
        F.when(same_read & (neg != 0), 100 * value / neg).alias("percent_of_control"),
        F.when(same_read & (neg != pos), 100 * (neg - value) / (neg - pos)).alias("percent_inhibition"),
        "qc_pass",
    )
