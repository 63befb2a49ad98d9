"""Glue job: new instrument files in the landing area -> lab_bronze (parsed, quarantined or duplicate, all logged).

Locally:  python jobs/ingest_instruments.py --JOB_NAME ingest --landing examples/landing --warehouse warehouse
On Glue 5.0 (--datalake-formats delta): the same, with --landing s3://bucket/prefix/ --warehouse s3://bucket/warehouse/
"""

from lab_etl.glue_job import GlueJob, job_run_id, optional_option, resolve_options
from lab_etl.lakehouse.spark import get_spark
from lab_etl.pipeline.run import step_ingest

options = resolve_options(["JOB_NAME", "landing", "warehouse"])
spark = get_spark(options["warehouse"])
vendor = optional_option("vendor", None)
vendor, engine = (None if vendor == "auto" else vendor), optional_option("engine", "auto") or "auto"
with GlueJob(options["JOB_NAME"], spark, options):
    summary = step_ingest(spark, options["landing"], job_run_id(), vendor=vendor, engine=engine)
print(summary)
