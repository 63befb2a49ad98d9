"""Regenerate hte_thiolation_eln.csv and hte_thiolation_eln.json from the real pyGecko thiolation plate.

Run from the repository root: ``.venv/bin/python tests/data/eln/make_hte_thiolation_eln.py``. The wells and
reagents come from tests/data/hte/thiolation_plate_layout.csv + thiolation_meta_data.json (read with
lab_etl.layouts.read_hte_plate); the protocol steps are written from the stock solutions, conditions and workup
of thiolation_meta_data.json. The experiment id, project, plate id and date are illustrative (see SOURCES.md).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from lab_etl.layouts import read_hte_plate

HERE = Path(__file__).resolve().parent
HTE = HERE.parent / "hte"

EXPERIMENT = {
    "experiment_id": "HTE-THIO-001",
    "project": "pyGecko photoredox thiolation",
    "title": "Photoredox C-S coupling of heteroaryl halides with thiols (96-well screen)",
    "protocol_name": "Photoredox thiolation HTE plate, 445 nm",
    "protocol_steps": [
        "Dispense heteroarene in DMA (0.15 M, 100 uL) to rows A-H, one heteroarene per row",
        "Dispense thiol in DMA (0.225 M, 100 uL) to columns 1-12, one thiol per column",
        "Dispense pyridine in DMA (1.125 M, 50 uL) to rows F-G and DMA (50 uL) to rows A-E and H",
        "Dispense IrF photocatalyst in DMA (0.006 M, 50 uL) to all wells",
        "Dispense internal standard in DMA (0.3 M, 50 uL) to all wells",
        "Irradiate at 445 nm (50 mW) for 24 h at 36 C, shaking at 475 rpm",
        "Filter through a 0.2 um PTFE filter (60 uL) and flush with EtOAc (1 mL)",
        "Analyse by GC-MS (identification) and GC-FID (quantification), method 110_20_320_2",
    ],
    "author": "Felix Katzenburg",
    "date": "2024-06-03T09:00:00+02:00",
    "eln_software": "lab_etl ELN export",
}
PLATE_ID = "THIO-1"
COLUMNS = [
    "experiment_id", "project", "title", "protocol_name", "protocol_steps", "author", "date", "eln_software",
    "plate_id", "plate_format", "well", "role", "reagent_role", "reagent_name", "smiles", "chembl_id", "amount",
    "amount_unit",
]


def main() -> None:
    layout = read_hte_plate(
        (HTE / "thiolation_plate_layout.csv").read_bytes(),
        (HTE / "thiolation_meta_data.json").read_bytes(),
        "thiolation_plate_layout.csv",
        PLATE_ID,
        experiment_id=EXPERIMENT["experiment_id"],
    )
    rows = []
    wells_json = []
    for well in layout.wells:
        reagents = [r for r in layout.reagents if r.well == well.well]
        wells_json.append(
            {
                "well": well.well,
                "role": well.role,
                "reagents": [
                    {k: v for k, v in {
                        "reagent_role": r.reagent_role, "reagent_name": r.reagent_name, "smiles": r.smiles,
                        "amount": r.amount, "amount_unit": r.amount_unit,
                    }.items() if v is not None}
                    for r in reagents
                ],
            }
        )
        for reagent in reagents:
            rows.append(
                {
                    "experiment_id": EXPERIMENT["experiment_id"], "plate_id": PLATE_ID, "plate_format": 96,
                    "well": well.well, "role": well.role, "reagent_role": reagent.reagent_role,
                    "reagent_name": reagent.reagent_name or "", "smiles": reagent.smiles, "chembl_id": "",
                    "amount": f"{reagent.amount:g}", "amount_unit": reagent.amount_unit,
                }
            )
    # experiment fields once, on the first row (the format allows repeating them)
    rows[0].update({k: v for k, v in EXPERIMENT.items() if k != "protocol_steps"})
    rows[0]["protocol_steps"] = "|".join(EXPERIMENT["protocol_steps"])
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    (HERE / "hte_thiolation_eln.csv").write_text(out.getvalue(), encoding="utf-8")
    document = {
        "format": "lab_etl.eln/1",
        "experiments": [{**EXPERIMENT, "plates": [{"plate_id": PLATE_ID, "plate_format": 96, "wells": wells_json}]}],
    }
    (HERE / "hte_thiolation_eln.json").write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", "utf-8")


if __name__ == "__main__":
    main()
