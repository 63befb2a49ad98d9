"""Run a workflow's DAG locally: the same job scripts as on Glue, in dependency order, on one SparkSession.

S3 locations of the definition are replaced by the local landing area and warehouse (``--landing`` = the landing
folder, ``--eln``/``--layouts``/``--reference`` = its side folders, ``--warehouse`` = the warehouse); every job gets
the same ``--WORKFLOW_RUN_ID``, as Glue passes it, so later jobs rebuild what earlier ones touched. Crawlers are
skipped: locally the tables are in the metastore already.
"""

from __future__ import annotations

import contextlib
import io
import runpy
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from lab_etl.workflows.model import Workflow, repo_root


@dataclass
class LocalRun:
    run_id: str
    jobs: list[tuple[str, str]] = field(default_factory=list)  # (job name, what it printed)
    skipped: list[str] = field(default_factory=list)
    failed: str | None = None  # the job that exited non-zero; the jobs after it did not run, as on Glue


def local_arguments(landing: str, warehouse: str) -> dict[str, str]:
    root = landing.rstrip("/")
    return {
        "--landing": root,
        "--eln": f"{root}/eln",
        "--layouts": f"{root}/layouts",
        "--reference": f"{root}/reference",
        "--warehouse": warehouse,
    }


@contextlib.contextmanager
def _argv(argv: list[str]) -> Iterator[None]:
    saved = sys.argv
    sys.argv = argv
    try:
        yield
    finally:
        sys.argv = saved


def run_locally(
    workflow: Workflow, landing: str, warehouse: str, run_id: str, *, progress: Console | None = None
) -> LocalRun:
    """Execute every job script of ``workflow`` in dependency order in this process."""
    console = progress or Console(stderr=True, quiet=True)
    replacements = local_arguments(landing, warehouse)
    result = LocalRun(run_id)
    topological = workflow.topological_order()
    jobs = workflow.topological_jobs()
    result.skipped = [node.name for node in topological if node not in jobs]
    for number, job in enumerate(jobs, start=1):
        script = Path(job.script) if Path(job.script).is_absolute() else repo_root() / job.script
        argv = [str(script), "--JOB_NAME", job.name, "--WORKFLOW_RUN_ID", run_id]
        for key, value in job.arguments.items():
            argv += [key, replacements.get(key, value)]
        if "--warehouse" not in job.arguments:
            argv += ["--warehouse", warehouse]
        output = io.StringIO()
        code = 0
        with console.status(f"[{number}/{len(jobs)}] {job.name}"), _argv(argv), contextlib.redirect_stdout(output):
            try:
                runpy.run_path(str(script), run_name="__main__")
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        result.jobs.append((job.name, output.getvalue().strip()))
        if code:
            # a CONDITIONAL trigger on SUCCEEDED would not fire: stop here, as Glue would
            result.failed = job.name
            break
    return result
