"""Write the example plate maps of ``examples/landing/layouts/`` (one long CSV per plate-reader plate).

The plate-reader exports of the demo come from allotropy's test data and carry no plate map of their own (except
SoftMax Pro's groups and Gen5's layout block). These layouts are *examples*: where the export names its controls
(SoftMax Pro) they are taken from it; elsewhere they follow the signal pattern of the plate (a row or columns at the
assay's floor or ceiling, a dilution down the rows) and are marked so in ``examples/SOURCES.md``. Run it again after
changing a rule here; the CSVs are committed.

Examples
--------
.. code-block:: console

    $ python scripts/make_example_layouts.py
    examples/landing/layouts/BNCH_69983542_96w.csv: 96 wells (8 positive_control, 8 negative_control, ...)
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
READERS = ROOT / "examples" / "landing" / "instruments" / "plate_readers"
OUT = ROOT / "examples" / "landing" / "layouts"
ROWS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

#: Kaleido plate: the EGFR inhibitors of the dose-response pairs (columns 1-2, 3-4 ... 21-22), most potent where the
#: signal stays low longest. (name, ChEMBL id or "", SMILES): an empty id makes the pipeline match on the InChIKey
#: of the SMILES; gefitinib is written in Kekulé form and erlotinib as its hydrochloride, so that the match goes
#: through ChEMBL's standardiser and parent (salt stripping). Every id and SMILES is from the ChEMBL 27 EGFR extract
#: in examples/landing/reference.
INHIBITORS = {
    1: ("lapatinib", "CHEMBL554", "CS(=O)(=O)CCNCc1ccc(-c2ccc3ncnc(Nc4ccc(OCc5cccc(F)c5)c(Cl)c4)c3c2)o1"),
    3: ("osimertinib", "CHEMBL3353410", "C=CC(=O)Nc1cc(Nc2nccc(-c3cn(C)c4ccccc34)n2)c(OC)cc1N(C)CCN(C)C"),
    5: ("CHEMBL35820", "CHEMBL35820", "CCOc1cc2ncnc(Nc3cccc(Br)c3)c2cc1OCC"),
    7: ("CHEMBL53753", "CHEMBL53753", ""),
    9: ("sunitinib", "CHEMBL535", "CCN(CC)CCNC(=O)c1c(C)[nH]c(/C=C2\\C(=O)Nc3ccc(F)cc32)c1C"),
    11: ("CHEMBL66031", "CHEMBL66031", ""),
    13: ("erlotinib hydrochloride", "", "C#CC1=CC=CC(NC2=NC=NC3=CC(OCCOC)=C(OCCOC)C=C23)=C1.Cl"),
    15: ("gefitinib", "", "COC1=C(OCCCN2CCOCC2)C=C2C(NC3=CC(Cl)=C(F)C=C3)=NC=NC2=C1"),
    17: ("afatinib", "CHEMBL1173655", "CN(C)C/C=C/C(=O)Nc1cc2c(Nc3ccc(F)c(Cl)c3)ncnc2cc1O[C@H]1CCOC1"),
    19: ("vandetanib", "CHEMBL24828", "COc1cc2c(Nc3ccc(Br)cc3F)ncnc2cc1OCC1CCN(C)CC1"),
    21: ("CHEMBL63786", "CHEMBL63786", "Brc1cccc(Nc2ncnc3cc4ccccc4cc23)c1"),
}


def wells(rows: int, columns: int) -> list[tuple[str, int, int]]:
    return [(f"{ROWS[r - 1]}{c:02d}", r, c) for r in range(1, rows + 1) for c in range(1, columns + 1)]


def write(name: str, header: list[str], lines: list[dict[str, object]]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / name
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(lines)
    roles = Counter(str(line["role"]) for line in lines)
    print(f"{path.relative_to(ROOT)}: {len(lines)} wells ({', '.join(f'{n} {r}' for r, n in roles.items())})")


def softmax_groups(text: str) -> dict[str, tuple[str, str]]:
    """Well -> (group, sample) from the first set of group blocks of a SoftMax Pro export."""
    found: dict[str, tuple[str, str]] = {}
    groups_seen: set[str] = set()
    group = None
    sample = ""
    for line in text.splitlines():
        if line.startswith("Group: "):
            group = line[len("Group: ") :].strip()
            if group in groups_seen:
                break
            groups_seen.add(group)
            sample = ""
            continue
        if group is None or line.startswith("~End"):
            group = None
            continue
        cells = line.split("\t")
        if len(cells) > 2 and re.fullmatch(r"[A-H]\d{1,2}", cells[1].strip()):
            sample = cells[0].strip() or sample
            well = f"{cells[1].strip()[0]}{int(cells[1].strip()[1:]):02d}"
            found[well] = (group, sample)
    return found


def softmax() -> None:
    text = (READERS / "MD_SMP_absorbance_endpoint_example05.txt").read_bytes().decode("utf-16")
    groups = softmax_groups(text)
    roles = {"PositiveControl": "positive_control", "NegativeControl": "negative_control", "Unknowns": "sample"}
    lines = []
    for well, _, _ in wells(8, 12):
        group, sample = groups.get(well, ("", ""))
        lines.append({"well": well, "role": roles.get(group, "empty"), "sample": sample})
    write("BNCH_69983542_96w.csv", ["well", "role", "sample"], lines)


def envision() -> None:
    for plate in (1, 2):
        lines = []
        for well, row, column in wells(8, 12):
            if column <= 3:
                line = {"role": "blank", "sample": "buffer"}
            elif column <= 6:
                line = {"role": "standard", "sample": f"STD{row}"}
            else:
                line = {"role": "sample", "sample": f"S{(column - 7) * 8 + row:02d}"}
            lines.append({"well": well, "plate": f"PE_Envision_absorbance_A450_example plate {plate}", **line})
        write(f"PE_Envision_plate_{plate}.csv", ["well", "plate", "role", "sample"], lines)


def magellan() -> None:
    lines = [
        {"well": well, "role": "blank" if column >= 11 else "sample", "sample": "medium" if column >= 11 else ""}
        for well, _, column in wells(8, 12)
    ]
    write("96WEL008.csv", ["well", "role", "sample"], lines)


def kaleido() -> None:
    header = ["well", "plate", "role", "sample", "conc_uM", "inhibitor_name", "inhibitor_chembl_id", "inhibitor_smiles"]
    lines = []
    for well, row, column in wells(16, 24):
        line: dict[str, object] = {"well": well, "plate": "V-2022-11-10 12:11:46"}
        if row == 1:
            line.update(role="positive_control", sample="no enzyme")
        elif column >= 23:
            line.update(role="negative_control", sample="DMSO")
        else:
            name, chembl_id, smiles = INHIBITORS[column if column % 2 else column - 1]
            line.update(
                role="sample",
                sample=name,
                conc_uM=f"{10 / 3 ** (row - 2):.4g}",
                inhibitor_name=name,
                inhibitor_chembl_id=chembl_id,
                inhibitor_smiles=smiles,
            )
        lines.append(line)
    write("kaleido_V-2022-11-10.csv", header, lines)


def methodical_mind() -> None:
    lines = [
        {"well": well, "role": "sample" if row % 2 else "blank", "sample": "" if row % 2 else "diluent"}
        for well, row, _ in wells(16, 24)
    ]
    write("BARCODE1.csv", ["well", "role", "sample"], lines)


def clariostar() -> None:
    # the 1536-well read covers every sixth row (A, G, M, S, Y, AE): only those wells are listed
    names = [*ROWS, "AA", "AB", "AC", "AD", "AE", "AF"]
    lines = [
        {"well": f"{names[r - 1]}{c:02d}", "plate": "92A_4", "plate_format": 1536, "role": "sample", "sample": ""}
        for r in (1, 7, 13, 19, 25, 31)
        for c in range(1, 49)
    ]
    write("92A_4.csv", ["well", "plate", "plate_format", "role", "sample"], lines)


def main() -> None:
    softmax()
    envision()
    magellan()
    kaleido()
    methodical_mind()
    clariostar()


if __name__ == "__main__":
    main()
