"""The Glue job adapter: what jobs/*.py need from AWS Glue, and the only module that imports ``awsglue``.

Locally, ``awsglue`` comes from ``awsgluedataplanepython`` (AWS's aws-glue-libs for Glue 5): its
``getResolvedOptions`` is plain Python and works anywhere, but ``GlueContext`` and ``Job`` need Glue's JVM
classes, which exist only on Glue. :func:`on_glue` tells which world we are in, and :class:`GlueJob` does the
job bookkeeping there and nothing locally.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from types import TracebackType
from typing import Any

from lab_etl.errors import ConfigError
from lab_etl.run_ids import new_run_id

_GLUE_CONTEXT_CLASS = "com.amazonaws.services.glue.GlueContext"


def resolve_options(names: Sequence[str], argv: Sequence[str] | None = None) -> dict[str, str]:
    """Glue's ``getResolvedOptions``: ``--NAME value`` pairs from ``argv`` (default ``sys.argv``).

    Raises :class:`ConfigError` naming the missing option instead of Glue's bare ``SystemExit``.
    """
    from awsglue.utils import GlueArgumentError, getResolvedOptions

    argv = list(sys.argv if argv is None else argv)
    try:
        options = getResolvedOptions(argv, list(names))
    except (SystemExit, GlueArgumentError):
        given = {arg[2:] for arg in argv if arg.startswith("--")}
        missing = [name for name in names if name not in given]
        raise ConfigError(f"missing job option(s): {', '.join('--' + n for n in missing) or 'see usage'}") from None
    return {name: options[name] for name in names}


def optional_option(name: str, default: str | None, argv: Sequence[str] | None = None) -> str | None:
    """An optional ``--name value`` job argument (Glue's resolver only knows required ones)."""
    argv = list(sys.argv if argv is None else argv)
    flag = f"--{name}"
    for index, arg in enumerate(argv):
        if arg == flag and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith(flag + "="):
            return arg.split("=", 1)[1]
    return default


def glue_jvm_present(spark: Any) -> bool:
    """True when the JVM behind ``spark`` has Glue's classes (i.e. we run on AWS Glue)."""
    try:
        spark._jvm.java.lang.Class.forName(_GLUE_CONTEXT_CLASS)
    except Exception:
        return False
    return True


def on_glue() -> bool:
    """Cheap check before any JVM exists: Glue sets ``GLUE_VERSION`` / ``GLUE_PYTHON_VERSION`` in jobs."""
    return bool(os.environ.get("GLUE_VERSION") or os.environ.get("GLUE_PYTHON_VERSION"))


def glue_spark_session() -> Any:
    """The SparkSession of a Glue job's GlueContext. Only call on Glue."""
    from awsglue.context import GlueContext
    from pyspark.context import SparkContext

    context = SparkContext.getOrCreate()
    if not glue_jvm_present(_JvmProbe(context)):
        raise ConfigError("GlueContext needs AWS Glue's JVM classes; this is not a Glue job run")
    return GlueContext(context).spark_session


class _JvmProbe:
    def __init__(self, context: Any) -> None:
        self._jvm = context._jvm


class GlueJob:
    """``Job.init`` / ``Job.commit`` on Glue, nothing locally. Use as a context manager.

    Examples
    --------
    >>> with GlueJob("ingest", spark, {"JOB_NAME": "ingest"}):   # doctest: +SKIP
    ...     run_ingest(...)
    """

    def __init__(self, name: str, spark: Any, options: dict[str, str]) -> None:
        self.name = name
        self.spark = spark
        self.options = options
        self._job: Any = None

    def __enter__(self) -> GlueJob:
        if glue_jvm_present(self.spark):
            from awsglue.context import GlueContext
            from awsglue.job import Job

            self._job = Job(GlueContext(self.spark.sparkContext))
            self._job.init(self.name, self.options)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._job is not None and kind is None:
            self._job.commit()


def job_run_id(argv: Sequence[str] | None = None) -> str:
    """The run id a job belongs to: the Glue workflow run (``--WORKFLOW_RUN_ID``, which Glue passes to every job of
    a workflow run and the local runner passes too), else a new one for a job run on its own."""
    return optional_option("WORKFLOW_RUN_ID", None, argv) or new_run_id()
