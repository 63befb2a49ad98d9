"""The workload whose classes go into the driver JVM's class archive (:mod:`lab_etl.lakehouse.class_archive`).

:func:`lab_etl.lakehouse.class_archive.build` runs this module in a child process::

    python -m lab_etl.lakehouse.warm_up WAREHOUSE ARCHIVE

It lives apart from ``class_archive`` because it drives a whole session (:mod:`lab_etl.lakehouse.spark`,
:mod:`lab_etl.lakehouse.delta`), which itself asks ``class_archive`` for its JVM options.
"""

from __future__ import annotations

import sys
from pathlib import Path

from lab_etl.contracts import contract
from lab_etl.lakehouse import delta
from lab_etl.lakehouse.frames import local_frame
from lab_etl.lakehouse.spark import get_spark, spark_conf


def warm_up(warehouse: Path, archive: Path) -> None:
    """Load what a lab_etl command loads: a session with the Delta catalog, a table created from its contract,
    an append, a MERGE, a scoped overwrite, reads with a filter, a join and an aggregate, a parquet write and a
    ``binaryFile`` read. The JVM dumps the classes it loaded to ``archive`` when it exits."""
    options = spark_conf(warehouse)["spark.driver.extraJavaOptions"]
    spark = get_spark(
        warehouse,
        extra_conf={"spark.driver.extraJavaOptions": f"{options} -XX:ArchiveClassesAtExit={archive} -Xlog:cds=off"},
    )
    from pyspark.sql import functions as F

    runs = contract("run_plates")  # three string columns: run_id, step, plate_id
    frame = local_frame(spark, [("r1", "bronze", "P1"), ("r1", "silver", "P2")], runs.spark_schema())
    rows = frame.select("plate_id", F.col("step").alias("kind"))
    delta.append(spark, frame, runs)
    delta.merge_new_rows(spark, frame, runs)
    delta.replace_scope(spark, frame, runs, "plate_id", ["P1"])
    table = spark.table(runs.qualified_name)
    table.where(F.col("plate_id").isin(["P1", "P2"])).join(rows, "plate_id").groupBy("kind").count().collect()
    table.write.mode("overwrite").parquet(str(warehouse / "_parquet"))
    spark.read.format("binaryFile").load(str(warehouse / "_parquet")).select("path", "length").collect()
    spark.sql(f"SELECT count(*) FROM {runs.qualified_name}").collect()
    spark.stop()


if __name__ == "__main__":
    warm_up(Path(sys.argv[1]), Path(sys.argv[2]))
