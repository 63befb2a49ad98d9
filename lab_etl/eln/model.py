"""What an ELN export holds, whichever reader read it: experiments, experiment reagents and plate layouts.

:class:`ElnExperiment` is one row of ``lab_silver.eln_experiments``; the layouts are
:class:`lab_etl.layouts.Layout` objects. :func:`parse_timestamp` is the one ISO 8601 rule both readers use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from lab_etl.errors import ParseError
from lab_etl.layouts.model import Layout, WellReagent


@dataclass(slots=True)
class ElnExperiment:
    """One ELN experiment: one row of ``lab_silver.eln_experiments`` (same fields, same order).

    ``protocol_steps`` and ``plate_ids`` are JSON arrays of strings; ``created_at`` is timezone-aware UTC.
    """

    experiment_id: str
    project: str | None = None
    title: str | None = None
    protocol_name: str | None = None
    protocol_steps: str | None = None
    author: str | None = None
    created_at: datetime | None = None
    plate_ids: str | None = None
    eln_software: str | None = None
    source_file: str = ""


@dataclass(slots=True)
class ElnReagent:
    """A reagent an experiment used, before it is tied to a well (AI4Green reactions name no wells).

    ``role`` is reactant, reagent, solvent, catalyst or product; the join to ``well_reagents`` happens when a
    plate layout names the experiment.
    """

    experiment_id: str
    role: str
    name: str | None = None
    smiles: str | None = None
    amount: float | None = None
    amount_unit: str | None = None
    source_file: str = ""


@dataclass(slots=True)
class ElnExport:
    """What one ELN export holds: experiments, experiment reagents, plate layouts, and drift warnings."""

    experiments: list[ElnExperiment] = field(default_factory=list)
    reagents: list[ElnReagent] = field(default_factory=list)
    layouts: list[Layout] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def well_reagents(self) -> list[WellReagent]:
        """Every :class:`~lab_etl.layouts.WellReagent` of every layout."""
        return [reagent for layout in self.layouts for reagent in layout.reagents]

    def experiment(self, experiment_id: str) -> ElnExperiment:
        """One experiment by id; :class:`ParseError` when the export has none of that id."""
        for experiment in self.experiments:
            if experiment.experiment_id == experiment_id:
                return experiment
        raise ParseError(f"the export holds no experiment '{experiment_id}'")


def parse_timestamp(text: object, what: str = "date", source: str = "", line: int | None = None) -> datetime | None:
    """An ISO 8601 date or date-time as an aware UTC datetime; no offset means UTC. None for empty text.

    Examples
    --------
    >>> parse_timestamp("2025-09-16T10:32:54+02:00")
    datetime.datetime(2025, 9, 16, 8, 32, 54, tzinfo=datetime.timezone.utc)
    """
    if text is None or str(text).strip() == "":
        return None
    value = str(text).strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        raise ParseError(
            f"{what} is '{text}', not an ISO 8601 date (2024-07-18 or 2024-07-18T15:56:12Z)", source, line
        ) from None
    if stamp.tzinfo is None:
        return stamp.replace(tzinfo=UTC)
    return stamp.astimezone(UTC)
