"""Plate layouts: what each well of a plate held, read from plate maps, wellmap TOML and HTE layouts.

Every reader returns a :class:`Layout`: one :class:`WellLayout` per well (the columns of
``schemas/plate_layouts.yaml``) and one :class:`WellReagent` per well and reagent role (the columns of
``schemas/well_reagents.yaml``). Parsers know bytes and files, nothing about Spark; the transforms turn
these records into the silver tables.

One module per concern; everything below is importable from ``lab_etl.layouts``:

==========================  ==================================================================================
module                      holds
==========================  ==================================================================================
``model``                   :class:`Layout`, :class:`WellLayout`, :class:`WellReagent` (what transforms use)
``roles``                   :data:`ROLES`, :func:`normalise_role`, :func:`role_from_sample_name`
``fields``                  the field mapping below, shared by every reader; :func:`layout_from_wells`
``plate_map_csv``           :func:`read_plate_map_csv` -- a grid CSV (one or several stacked grids, one per
                            field, as written by wellr, plater and most lab spreadsheets) or a long CSV
``wellmap_toml``            :func:`read_wellmap` -- a `wellmap <https://wellmap.readthedocs.io>`_ TOML layout
``hte``                     :func:`read_hte_plate` -- the pyGecko high-throughput-experimentation layout
                            (``x``/``y`` CSV plus a ``meta_data.json`` of stock solutions)
==========================  ==================================================================================

Readers import the model, roles and fields; nothing here imports a transform or touches Spark.

Well fields are mapped the same way for every reader (see :func:`normalise_role` for roles):

============================================  =================================================
layout field (any case, spaces or hyphens)    goes to
============================================  =================================================
``role``, ``well_role``, ``well_type``         ``role`` (through :func:`normalise_role`)
``sample``, ``sample_name``, ``strain``,       ``sample_name``
``compound``, ``name``, ``treatment`` ...
``conc``, ``concentration``, ``dose``          ``concentration`` (a cell may carry its unit: ``10 uM``)
``conc_uM``, ``concentration_ng_mL``, ``uM``,  ``concentration`` with the unit the name states
``ug_mL`` ...
``unit``, ``concentration_unit``               ``concentration_unit``
``standard``/``std`` (true or a name),         role ``standard`` / the role the text names /
``control`` (text), ``blank`` (true)           ``blank``
``plate``, ``plate_id``, ``barcode``           ``plate_id`` (long CSV and wellmap)
``experiment_id``                              ``experiment_id``
``<role>_smiles``, ``<role>_chembl_id``,       a :class:`WellReagent` of reagent role ``<role>``
``<role>_name``, ``<role>_amount``,
``<role>_amount_unit``
anything else                                  ``attributes`` (a JSON object)
============================================  =================================================

When no role field exists, a sample name that is a role word (``blank``, ``buffer``, ``DMSO``, ``NA``,
``std`` ...) sets the role (:func:`role_from_sample_name`); any other filled well is a ``sample`` and a well
without any field is ``empty``. In a layout that names samples, a well with no sample, concentration or reagent
(only e.g. a dilution spanning unused columns) is ``empty`` too.

Examples
--------
>>> layout = read_plate_map_csv(b"conc,1,2,3\\nA,1,2,3\\nB,4,5,6\\n", "doses.csv")
>>> layout.plate_format, layout.well("B03").concentration
(6, 6.0)
"""

from __future__ import annotations

from lab_etl.layouts.fields import KNOWN_REAGENT_ROLES, csv_rows, field_key, layout_from_wells, parse_quantity
from lab_etl.layouts.hte import read_hte_plate
from lab_etl.layouts.model import Layout, WellLayout, WellReagent
from lab_etl.layouts.plate_map_csv import read_plate_map_csv
from lab_etl.layouts.roles import ROLES, normalise_role, role_from_sample_name, spells_a_role
from lab_etl.layouts.wellmap_toml import read_wellmap

__all__ = [
    "KNOWN_REAGENT_ROLES",
    "ROLES",
    "Layout",
    "WellLayout",
    "WellReagent",
    "csv_rows",
    "field_key",
    "layout_from_wells",
    "normalise_role",
    "parse_quantity",
    "read_hte_plate",
    "read_plate_map_csv",
    "read_wellmap",
    "role_from_sample_name",
    "spells_a_role",
]
