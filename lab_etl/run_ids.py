"""Run ids: the one name every step, job and table row of one pipeline run shares.

A ground-floor module (standard library only) so that the Glue job adapter, the CLI and the pipeline can all
make a run id without importing one another.

Examples
--------
>>> run_id = new_run_id()
>>> len(run_id), run_id[8], run_id[15:17]
(23, 'T', 'Z-')
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime


def new_run_id() -> str:
    """A sortable, unique run id: UTC time to the second plus a random suffix (``20261130T133553Z-3f9a1c``).

    Ids made later sort later (to the second); the six hex digits keep two runs started in the same second apart.
    """
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]
