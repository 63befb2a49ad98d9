"""The layout model: what each well of a plate held, as the layout readers return it.

:class:`Layout` is one plate: one :class:`WellLayout` per well (a row of ``lab_silver.plate_layouts``) and one
:class:`WellReagent` per well and reagent role (a row of ``lab_silver.well_reagents``). Transforms and the pipeline
depend on these records, never on a file reader.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lab_etl.errors import ParseError
from lab_etl.plates import parse_well, well_name


@dataclass(slots=True)
class WellLayout:
    """One well of a plate layout: one row of ``lab_silver.plate_layouts`` (same fields, same order)."""

    plate_id: str
    well: str
    row_index: int
    column_index: int
    plate_format: int
    role: str
    sample_name: str | None = None
    concentration: float | None = None
    concentration_unit: str | None = None
    experiment_id: str | None = None
    attributes: str | None = None
    layout_source: str = ""


@dataclass(slots=True)
class WellReagent:
    """One reagent of one well: one row of ``lab_silver.well_reagents`` (same fields, same order)."""

    plate_id: str
    well: str
    reagent_role: str
    reagent_name: str | None = None
    smiles: str | None = None
    chembl_id: str | None = None
    amount: float | None = None
    amount_unit: str | None = None
    experiment_id: str | None = None
    layout_source: str = ""


@dataclass(slots=True)
class Layout:
    """One plate's layout: its wells (one per well) and the reagents that went into them."""

    plate_id: str
    plate_format: int
    wells: list[WellLayout] = field(default_factory=list)
    reagents: list[WellReagent] = field(default_factory=list)

    def well(self, name: str) -> WellLayout:
        """The layout of one well, in any spelling (``a1``, ``A01``); :class:`ParseError` when it is not listed."""
        wanted = well_name(*parse_well(name, self.plate_format))
        for entry in self.wells:
            if entry.well == wanted:
                return entry
        raise ParseError(f"well {wanted} is not in the layout of plate {self.plate_id}")

    def reagents_of(self, name: str) -> dict[str, WellReagent]:
        """The reagents of one well by reagent role (``{'scaffold': ..., 'catalyst': ...}``)."""
        wanted = well_name(*parse_well(name, self.plate_format))
        return {r.reagent_role: r for r in self.reagents if r.well == wanted}
