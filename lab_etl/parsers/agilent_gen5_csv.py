"""Agilent (BioTek) Gen5 CSV export: the same sections as the Gen5 text export, comma-separated.

Seen from Gen5 3.12 (``File > Export`` to CSV): UTF-8 with BOM, every line padded with commas to the widest
table, quoted cells where a value holds a comma (``"Setpoint 37°C, Gradient 0 °C"``). Kinetic tables carry
an empty first column (``,Time,T° LUM_1:Lum,A1,...``) and are cut into chunks of four plate rows, each chunk
under its own copy of the read's title::

    Software Version,3.12.08,,,,
    Procedure Details            Plate Type, Start Kinetic ... Read,<step label> ... End Kinetic
    LUM_1:Lum                    title of one read's kinetic table
    ,Time,T° LUM_1:Lum,A1,...,D24
    ,0:04:48,37,3,27,...

Each CSV row is turned back into a tab-separated line and read by
:func:`lab_etl.parsers.agilent_gen5.read_gen5_lines` (or ``read_gen5_columns``), so both exports give the same
readings.
"""

from __future__ import annotations

import csv

from lab_etl.errors import ParseError
from lab_etl.parsers.agilent_gen5 import AgilentGen5Parser
from lab_etl.parsers.files import decode_text


def csv_to_tab_lines(text: str, source: str) -> list[str]:
    """The CSV's rows as tab-separated lines with the comma padding removed."""
    lines: list[str] = []
    try:
        # split on LF only: a stray CR (CR CR LF from a double line-ending conversion) must not add blank lines
        for row in csv.reader((line.rstrip("\r") for line in text.split("\n")), strict=False):
            while row and not row[-1].strip():
                row.pop()
            lines.append("\t".join(cell.replace("\t", " ") for cell in row))
    except csv.Error as exc:
        raise ParseError(f"the CSV cannot be read: {exc}", source) from None
    return lines


class AgilentGen5CsvParser(AgilentGen5Parser):
    """Agilent/BioTek Gen5 comma-separated export (endpoint and kinetic, any plate size)."""

    name = "agilent_gen5_csv"
    display_name = "Agilent Gen5 (CSV export)"
    extensions = ("csv",)
    software_line = "Software Version,"
    head_marks = ("Procedure Details,", "Reader Type:,")

    def tab_lines(self, data: bytes, name: str) -> list[str]:
        return csv_to_tab_lines(decode_text(data, name).lstrip("\ufeff"), name)


PARSER = AgilentGen5CsvParser()
