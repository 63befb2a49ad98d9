"""Glue workflows as code: ``workflows/*.yaml`` definitions, CloudFormation, boto3 deployment, clones, the wheel.

- :mod:`~lab_etl.workflows.model`: load + validate a definition, resolve parameters, order the DAG.
- :mod:`~lab_etl.workflows.render`: the resources, as a CloudFormation template.
- :mod:`~lab_etl.workflows.deploy`: the same resources, created or updated with boto3.
- :mod:`~lab_etl.workflows.clone`: a definition for the next instrument.
- :mod:`~lab_etl.workflows.package`: lab_etl's wheel for ``--additional-python-modules``.
- :mod:`~lab_etl.workflows.commands`: ``lab-etl workflow ...`` and ``lab-etl package``.
"""

from __future__ import annotations

from lab_etl.workflows.model import Workflow, WorkflowDefinition, load_definition, load_workflow

__all__ = ["Workflow", "WorkflowDefinition", "load_definition", "load_workflow"]
