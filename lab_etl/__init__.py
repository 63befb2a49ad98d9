"""lab_etl: raw laboratory files to governed, queryable Delta Lake tables on Spark and AWS Glue."""

from __future__ import annotations

__version__ = "0.1.0"
