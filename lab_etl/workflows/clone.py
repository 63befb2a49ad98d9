"""Clone a workflow definition for the next instrument: new name, new derived names, new parameter defaults.

Names derived from the workflow name change consistently: defaults written with ``${workflow_name}`` or
``${workflow_slug}`` follow the new name by themselves, and any literal occurrence of the old name (or its
slug) as a whole word in a default, argument or description is rewritten too. Overrides become the clone's
new defaults, typed by the declared type. The clone is validated and resolved before it is written, so a
clone that would render to invalid AWS names is never written.

Examples
--------
>>> path = clone("hts_lcms_yield", "hts_uplc_yield", {"instrument_vendor": "thermo_skanit"})  # doctest: +SKIP
>>> load_workflow(path).trigger.bucket  # doctest: +SKIP
'lab-etl-hts-uplc-yield-landing'
"""

from __future__ import annotations

import copy
import difflib
import re
from pathlib import Path
from typing import Any

import yaml

from lab_etl.errors import ConfigError
from lab_etl.workflows.model import find_workflow, load_definition, parse_definition, slug

_NAME = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
#: the parameter that picks the parser of every landing file (passed to the jobs as ``--vendor``)
VENDOR_PARAMETER = "instrument_vendor"


def check_vendor(vendor: str) -> None:
    """Raise :class:`ConfigError` unless ``vendor`` is ``auto`` or a parser name of ``lab-etl instruments``.

    A workflow rendered with any other vendor could only quarantine every file it is given.

    Examples
    --------
    >>> check_vendor("tecan")
    >>> check_vendor("tecna")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lab_etl.errors.ConfigError: --set instrument_vendor=tecna: no such instrument parser (did you mean tecan?...
    """
    if vendor == "auto":
        return
    from lab_etl.parsers.registry import list_instruments

    names = [info.name for info in list_instruments()]
    if vendor in names:
        return
    close = difflib.get_close_matches(vendor, names, n=3)
    hint = f" (did you mean {' or '.join(close)}?)" if close else ""
    raise ConfigError(
        f"--set {VENDOR_PARAMETER}={vendor}: no such instrument parser{hint}; use auto or a name that "
        "`lab-etl instruments` lists"
    )


def clone(
    src_path: str | Path,
    new_name: str,
    overrides: dict[str, str],
    output: Path | None = None,
    *,
    force: bool = False,
) -> Path:
    """Write a copy of ``src_path`` named ``new_name`` with ``overrides`` as new parameter defaults.

    Parameters
    ----------
    src_path:
        A definition file, or a name under ``workflows/`` (``hts_lcms_yield``).
    new_name:
        The clone's name (lower case, digits, ``_``); it prefixes every Glue resource of the clone.
    overrides:
        ``{parameter: value}``, values as typed on the command line (``"10"``, ``"true"``).
    output:
        Where to write; default ``<folder of src>/<new_name>.yaml``.
    force:
        Overwrite ``output`` when it exists.

    Returns
    -------
    Path
        The written definition.

    Raises
    ------
    ConfigError
        Bad new name, unknown or mistyped override, an ``instrument_vendor`` that is neither ``auto`` nor a parser
        of ``lab-etl instruments``, existing output without ``force``, or a clone that does not
        validate (the message names the field).
    """
    source = find_workflow(src_path)
    definition = load_definition(source)
    if not _NAME.match(new_name):
        raise ConfigError(
            f"clone name '{new_name}' must be 2-40 lower-case letters, digits or '_', starting with a letter"
        )
    if new_name == definition.name:
        raise ConfigError(f"clone name '{new_name}' is the source's name; choose a new one")
    document = _renamed(copy.deepcopy(definition.document), definition.name, new_name)
    for name, text in overrides.items():
        if name not in definition.parameters:
            known = ", ".join(sorted(definition.parameters))
            raise ConfigError(f"{source}: --set {name}=...: no such parameter; declared ones: {known}")
        document["parameters"][name]["default"] = definition.parameters[name].coerce(text, f"--set {name}")
        if name == VENDOR_PARAMETER:
            check_vendor(text)
    target = output or source.parent / f"{new_name}.yaml"
    if target.exists() and not force:
        raise ConfigError(f"{target} exists; choose another --output or remove it first")
    parse_definition(document, str(target)).resolve()  # a clone that cannot render is never written
    header = f"# Cloned from {source.name} ({definition.name}) by `lab-etl workflow clone`.\n"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(header + yaml.safe_dump(document, sort_keys=False, width=120), encoding="utf-8")
    return target


def _renamed(node: Any, old: str, new: str) -> Any:
    """Rewrite whole-word occurrences of ``old`` and its slug in every string (``${...}`` references kept)."""
    patterns = [(re.compile(rf"(?<![A-Za-z0-9]){re.escape(old)}(?![A-Za-z0-9])"), new)]
    if slug(old) != old:
        patterns.append((re.compile(rf"(?<![A-Za-z0-9]){re.escape(slug(old))}(?![A-Za-z0-9])"), slug(new)))

    def rewrite(value: Any) -> Any:
        if isinstance(value, str):
            for pattern, replacement in patterns:
                value = pattern.sub(replacement, value)
            return value
        if isinstance(value, dict):
            return {key: rewrite(item) for key, item in value.items()}
        if isinstance(value, list):
            return [rewrite(item) for item in value]
        return value

    renamed: dict[str, Any] = rewrite(node)
    renamed["name"] = new
    return renamed
