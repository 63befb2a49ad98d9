"""Glue job: ingest new instrument files from the landing area into lab_bronze (parsed, quarantined, logged).

Run locally:  python jobs/ingest_instruments.py --JOB_NAME ingest --landing examples/landing --warehouse warehouse
On AWS Glue 5.0 (--datalake-formats delta): the same script, with --landing s3://bucket/prefix.
"""

from lab_etl.glue import GlueJob, optional_option, resolve_options
from lab_etl.lakehouse.spark import get_spark
from lab_etl.pipeline.ingest import ingest_landing

options = resolve_options(["JOB_NAME", "landing"])
spark = get_spark(optional_option("warehouse", "warehouse") or "warehouse")
vendor, engine = optional_option("vendor", None), optional_option("engine", "auto") or "auto"
with GlueJob(options["JOB_NAME"], spark, options):
    summary = ingest_landing(spark, options["landing"], vendor=vendor, engine=engine)
print(summary)
