"""``lab-etl catalog publish``: the lakehouse's Delta tables into the local metastore and the AWS Glue Data Catalog."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lab_etl.catalog.glue_catalog import PublishReport, publish_tables, table_to_publish
from lab_etl.lakehouse.delta import write_manifests
from lab_etl.lakehouse.tables import attach_tables, existing_tables

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


@dataclass
class CatalogPublish:
    registered_locally: list[str]
    glue: PublishReport | None


def publish_catalog(spark: SparkSession, warehouse: str, glue: Any | None = None) -> CatalogPublish:
    """Register the tables locally (when missing), write their symlink manifests as of now (Delta does not update
    them on every commit: :data:`lab_etl.lakehouse.delta.TABLE_PROPERTIES`), and create-or-update them in Glue (a
    native Delta table for Athena plus a Spectrum twin each) when a Glue client is given."""
    registered = attach_tables(spark)
    tables = existing_tables(spark)
    write_manifests(spark, [table.contract.qualified_name for table in tables])
    report = None
    if glue is not None:
        report = publish_tables(
            glue, [table_to_publish(t.contract, t.location, t.columns, t.partitions) for t in tables]
        )
    return CatalogPublish(registered, report)
