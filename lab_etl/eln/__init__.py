"""ELN exports: experiments, their protocol and people, and what went into each well.

Two readers return an :class:`ElnExport`:

- :func:`read_eln_archive` reads the ELN Consortium's ``.eln`` format (a zip holding an RO-Crate 1.1/1.2
  ``ro-crate-metadata.json``), as exported by eLabFTW, AI4Green, Chemotion, RSpace and others. One
  :class:`ElnExperiment` per experiment Dataset; AI4Green's reaction reagents as :class:`ElnReagent`.
- :func:`read_eln_table` reads lab_etl's own ELN export, for labs whose ELN has no ``.eln`` export. It is
  specified in ``docs/eln_export.md``.

==================  ==========================================================================================
module              holds
==================  ==========================================================================================
``model``           :class:`ElnExport`, :class:`ElnExperiment`, :class:`ElnReagent`, :func:`parse_timestamp`
``rocrate``         :func:`read_eln_archive` -- ``.eln`` (RO-Crate) archives, AI4Green reaction reagents
``table_export``    :func:`read_eln_table` -- lab_etl's own CSV/JSON export, its columns documented there
==================  ==========================================================================================

Plate layouts inside an export are :class:`lab_etl.layouts.Layout` objects, mapped by the layout package's field
mapping; nothing here imports a transform or touches Spark.

Examples
--------
>>> export = read_eln_table(b"experiment_id,plate_id,well,reagent_role,smiles\\nE1,P1,A1,scaffold,c1ccccc1\\n", "e.csv")
>>> export.experiments[0].plate_ids, export.layouts[0].reagents[0].smiles
('["P1"]', 'c1ccccc1')
"""

from __future__ import annotations

from lab_etl.eln.model import ElnExperiment, ElnExport, ElnReagent, parse_timestamp
from lab_etl.eln.rocrate import METADATA_FILE, read_eln_archive
from lab_etl.eln.table_export import (
    EXPERIMENT_COLUMNS,
    REAGENT_COLUMNS,
    REQUIRED_COLUMNS,
    WELL_COLUMNS,
    read_eln_table,
)

__all__ = [
    "EXPERIMENT_COLUMNS",
    "METADATA_FILE",
    "REAGENT_COLUMNS",
    "REQUIRED_COLUMNS",
    "WELL_COLUMNS",
    "ElnExperiment",
    "ElnExport",
    "ElnReagent",
    "parse_timestamp",
    "read_eln_archive",
    "read_eln_table",
]
