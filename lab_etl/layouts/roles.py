"""Well roles: the lab's many spellings of a well role, normalised to one of :data:`ROLES`.

The one place that knows ``POSCON``, ``Vehicle``, ``Std 3`` and ``no RT``: every layout reader and the
plate-mapping transform (an instrument's sample names) ask here. Pure Python, no I/O.
"""

from __future__ import annotations

import re
from functools import lru_cache

from lab_etl.errors import ParseError

#: The well roles of ``plate_layouts.role``.
ROLES = ("sample", "positive_control", "negative_control", "blank", "standard", "empty")

# The one table of lab spellings per role ("|"-separated; lower case, single spaces: see _role_key).
_ROLE_TABLE: dict[str, str] = {
    "sample": "sample | samples | smp | unknown | test | test compound | treatment | compound",
    "positive_control": "pos | positive | poscon | pos con | pos ctrl | pos control | positive control | pc | max"
    " | maximum | high | high control | hc | + | ctrl+ | +ctrl | control+",
    "negative_control": "neg | negative | negcon | neg con | neg ctrl | neg control | negative control | nc | min"
    " | minimum | low control | lc | dmso | vehicle | vehicle control | solvent control | - | ctrl- | -ctrl"
    " | control- | ntc | no template control",
    "blank": "blank | blk | buffer | buffer blank | empty medium | medium | media | reagent blank",
    "standard": "std | standard | standards | cal | calibrator | calibration | calibrant",
    "empty": " | na | n/a | nan | null | empty | none | unused | not used",
}
_ROLE_SPELLINGS: dict[str, str] = {
    spelling.strip(): role for role, spellings in _ROLE_TABLE.items() for spelling in spellings.split("|")
}

# Numbered spellings: "std 3", "Standard_4", "cal1", "POS2", "blank 1".
_NUMBERED_ROLE = re.compile(r"^(.*?[a-z+\-])\s*\d+$")
# "no RT", "no cDNA", "no enzyme": a control that leaves one component out is a negative control.
_NO_COMPONENT = re.compile(r"^no\s+\S")

# Sample names that are role words in any lab. A sample literally named "max" or "+" stays a sample:
# only these spellings turn a sample name into a role when the layout has no role field.
_ROLE_WORDS_IN_SAMPLES = {
    key
    for key, role in _ROLE_SPELLINGS.items()
    if role != "sample" and key not in {"+", "-", "max", "min", "maximum", "minimum", "high", "hc", "lc", "pc", "nc"}
}


def _role_key(text: str) -> str:
    return " ".join(text.strip().lower().replace("_", " ").split())


def normalise_role(text: str | None) -> str:
    """A lab's spelling of a well role as one of :data:`ROLES`.

    ``pos``/``POSCON``/``max``/``high control``/``+`` are ``positive_control``; ``neg``/``NEGCON``/``min``/
    ``DMSO``/``vehicle``/``-``/``NTC``/``no RT`` are ``negative_control``; ``blank``/``buffer``/``empty medium``
    are ``blank``; ``std``/``standard``/``cal``/``calibrator`` (also numbered: ``Std 3``) are ``standard``;
    ``""``/``NA``/``empty``/``None`` are ``empty``. Case, underscores and extra spaces do not matter.

    Raises :class:`ParseError` for any other text, naming the accepted spellings.

    Examples
    --------
    >>> normalise_role("POSCON"), normalise_role("Vehicle"), normalise_role("Std 3"), normalise_role(None)
    ('positive_control', 'negative_control', 'standard', 'empty')
    """
    if text is None:
        return "empty"
    return _role_of_text(str(text))


@lru_cache(maxsize=1024)  # a plate spells its few roles on every well
def _role_of_text(text: str) -> str:
    key = _role_key(text)
    if key in _ROLE_SPELLINGS:
        return _ROLE_SPELLINGS[key]
    if key in ROLES or key.replace(" ", "_") in ROLES:
        return key.replace(" ", "_")
    numbered = _NUMBERED_ROLE.match(key)
    if numbered and numbered.group(1).strip() in _ROLE_SPELLINGS:
        return _ROLE_SPELLINGS[numbered.group(1).strip()]
    if _NO_COMPONENT.match(key):
        return "negative_control"
    spellings = ", ".join(sorted({k for k in _ROLE_SPELLINGS if k}))
    raise ParseError(f"'{text}' is not a well role; write one of {', '.join(ROLES)} or a common spelling ({spellings})")


def role_from_sample_name(text: str | None) -> str:
    """The role a sample name implies: ``buffer`` -> ``blank``, ``NA`` -> ``empty``, ``DMSO`` ->
    ``negative_control``, ``Std 2`` -> ``standard``; any other name -> ``sample``. Never raises.

    For layouts without a role field and for instruments' sample names. Plate-reader content labels with an id
    after the role word (``Blank B``, ``Standard S1``, ``Negative control N2``) count as that role; words that may
    well be sample names (``max``, ``high``, ``+``) do not.

    Examples
    --------
    >>> role_from_sample_name("pRW0041"), role_from_sample_name("blank"), role_from_sample_name("Standard S3")
    ('sample', 'blank', 'standard')
    """
    if text is None:
        return "empty"
    key = _role_key(str(text))
    candidates = [key]
    numbered = _NUMBERED_ROLE.match(key)
    if numbered:
        candidates.append(numbered.group(1).strip())
    labelled = re.match(r"^(.+?)\s+[a-z]{0,2}\d*$", key)  # "blank b", "standard s1": role word + well-content id
    if labelled:
        candidates.append(labelled.group(1))
    for candidate in candidates:
        if candidate in _ROLE_WORDS_IN_SAMPLES:
            return _ROLE_SPELLINGS[candidate]
    return "sample"


def spells_a_role(text: str) -> bool:
    """True when ``text`` is exactly one of the lab spellings of a role (``DMSO``, ``NA``, ``std`` ...).

    Examples
    --------
    >>> spells_a_role("N/A"), spells_a_role("cpd-7")
    (True, False)
    """
    return _role_key(text) in _ROLE_SPELLINGS
