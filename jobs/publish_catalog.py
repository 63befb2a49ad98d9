"""Glue job: the lakehouse's Delta tables -> the Glue Data Catalog (Athena Delta tables + Spectrum twins).

Locally (moto):  python jobs/publish_catalog.py --JOB_NAME publish --warehouse warehouse --endpoint-url http://127.0.0.1:5000
"""

from lab_etl.aws import aws_client
from lab_etl.catalog.publish import publish_catalog
from lab_etl.glue_job import GlueJob, on_glue, optional_option, resolve_options
from lab_etl.lakehouse.spark import get_spark

options = resolve_options(["JOB_NAME", "warehouse"])
spark = get_spark(options["warehouse"])
endpoint = optional_option("endpoint-url", None)
# on Glue, or against an explicit endpoint (moto); a plain local run registers the local metastore only
glue = aws_client("glue", endpoint, optional_option("region", None)) if on_glue() or endpoint else None
with GlueJob(options["JOB_NAME"], spark, options):
    result = publish_catalog(spark, options["warehouse"], glue)
print(result)
