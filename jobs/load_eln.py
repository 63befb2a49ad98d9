"""Glue job: new ELN exports (--eln) and plate layouts (--layouts) -> lab_silver experiments, layouts, reagents.

Locally:  python jobs/load_eln.py --JOB_NAME eln --eln examples/landing/eln --warehouse warehouse
"""

from lab_etl.glue_job import GlueJob, job_run_id, optional_option, resolve_options
from lab_etl.lakehouse.spark import get_spark
from lab_etl.pipeline.run import step_eln

options = resolve_options(["JOB_NAME", "warehouse"])
spark = get_spark(options["warehouse"])
with GlueJob(options["JOB_NAME"], spark, options):
    reports = step_eln(spark, optional_option("eln", None), optional_option("layouts", None), job_run_id())
for report in reports:
    print(report.name, *report.lines)
