"""``lab-etl maintain``: OPTIMIZE (compact the small files every incremental run adds) and VACUUM every table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from lab_etl.errors import ConfigError
from lab_etl.lakehouse.tables import existing_tables

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

#: Delta's own safety floor: readers and writers that started up to a week ago may still need removed files.
MIN_RETENTION_HOURS = 168


@dataclass(frozen=True)
class Maintained:
    table: str
    files_removed: int
    files_added: int
    vacuumed: bool


def maintain(
    spark: SparkSession, *, retention_hours: int = MIN_RETENTION_HOURS, vacuum: bool = True
) -> list[Maintained]:
    """OPTIMIZE each lakehouse table, then VACUUM files older than ``retention_hours`` (at least a week)."""
    if retention_hours < MIN_RETENTION_HOURS:
        raise ConfigError(
            f"VACUUM retention {retention_hours} h is below {MIN_RETENTION_HOURS} h: time travel and concurrent "
            "readers could lose files; keep at least a week"
        )
    done = []
    for table in existing_tables(spark):
        name = table.contract.qualified_name
        metrics = spark.sql(f"OPTIMIZE {name}").collect()[0]["metrics"]
        if vacuum:
            spark.sql(f"VACUUM {name} RETAIN {retention_hours} HOURS")
        done.append(Maintained(name, int(metrics["numFilesRemoved"]), int(metrics["numFilesAdded"]), vacuum))
    return done
