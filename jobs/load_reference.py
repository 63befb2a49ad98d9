"""Glue job: new ChEMBL downloads (--reference) -> lab_reference.chembl_compounds, parent InChIKeys computed.

Locally:  python jobs/load_reference.py --JOB_NAME ref --reference examples/landing/reference --warehouse warehouse
--chembl-release names the release for files whose name does not (chembl_XX_... names win).
"""

from lab_etl.glue_job import GlueJob, job_run_id, optional_option, resolve_options
from lab_etl.lakehouse.spark import get_spark
from lab_etl.pipeline.run import step_reference

options = resolve_options(["JOB_NAME", "reference", "warehouse"])
spark = get_spark(options["warehouse"])
with GlueJob(options["JOB_NAME"], spark, options):
    report = step_reference(
        spark, options["reference"], job_run_id(), default_release=optional_option("chembl-release", None)
    )
print(report.name, *report.lines)
