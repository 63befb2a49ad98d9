"""Glue job: plate QC and the flat results of the plates this workflow run touched -> lab_gold.

Locally:  python jobs/build_gold.py --JOB_NAME gold --warehouse warehouse --WORKFLOW_RUN_ID <run id>
"""

import sys

from lab_etl.glue_job import GlueJob, job_run_id, resolve_options
from lab_etl.lakehouse.spark import get_spark
from lab_etl.pipeline.run import step_gold

options = resolve_options(["JOB_NAME", "warehouse"])
spark = get_spark(options["warehouse"])
with GlueJob(options["JOB_NAME"], spark, options):
    report = step_gold(spark, job_run_id())
print(report.name, *report.lines)
sys.exit(3 if report.held_back else 0)  # a data-quality gate held a batch back: fail the job run
