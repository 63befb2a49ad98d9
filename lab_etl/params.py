"""YAML definition files and their ``${name}`` parameters: read a file, substitute values, reject unknown names.

The workflow definitions ``workflows/*.yaml`` (:mod:`lab_etl.workflows.model`) and the Lake Formation policy
``governance/lakeformation.yaml`` (:mod:`lab_etl.governance.lakeformation`) use it; table contracts
(:mod:`lab_etl.contracts`) only read their files with :func:`read_yaml`. The rules of ``${name}`` are the same
for both kinds of definition:

- every ``${...}`` is a reference (whatever is between the braces); one whose name has no value is a
  :class:`~lab_etl.errors.ConfigError` naming the place, never left in the text;
- a string that is exactly one reference (``"${batch_size}"``) takes the value with its type (an ``int`` stays an
  ``int``); inside a longer string the value is written as text, booleans as ``true``/``false`` (as Glue and
  Spark arguments spell them);
- substitution is one pass: a value that itself contains ``${...}`` is not expanded again.

Examples
--------
>>> substitute("s3://${bucket}/${prefix}", {"bucket": "lake", "prefix": "raw/"})
's3://lake/raw/'
>>> substitute({"size": "${batch_size}", "dry": "--dry-run=${dry_run}"}, {"batch_size": 10, "dry_run": True})
{'size': 10, 'dry': '--dry-run=true'}
>>> substitute(["${bucket}"], {}, "policy.yaml: locations")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
lab_etl.errors.ConfigError: policy.yaml: locations[0]: ${bucket} is not a declared parameter; ...
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from lab_etl.errors import ConfigError

ParameterValue = str | int | bool

#: ``${...}``: every such text is a reference, so a misspelt or malformed name is an error, not silently kept.
REFERENCE = re.compile(r"\$\{([^{}]*)\}")

#: Where a value sits, for error messages: a text prefix, or a function of the keys below the node substituted
#: (the governance loader's locator turns them into ``file:line: path``).
Where = str | Callable[..., str]


def read_yaml(path: Path, what: str) -> tuple[str, Any]:
    """The text of a YAML file and the document parsed from it.

    Raises
    ------
    ConfigError
        The file cannot be read, or is not YAML (``path:line: not valid YAML: reason``); ``what`` names the kind
        of file (``"workflow definition"``).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the {what}: {exc.strerror}") from None
    try:
        return text, yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise ConfigError(f"{where}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from None


def references(text: str) -> list[str]:
    """The names of every ``${name}`` in ``text``, in order.

    Examples
    --------
    >>> references("s3://${bucket}/${prefix}")
    ['bucket', 'prefix']
    """
    return REFERENCE.findall(text)


def as_text(value: Any) -> str:
    """A parameter value as it is written inside a string: booleans as ``true``/``false``, the rest by ``str``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def substitute(
    node: Any,
    values: Mapping[str, Any],
    where: Where = "",
    *,
    pattern: re.Pattern[str] = REFERENCE,
    missing: Callable[[str], str] | None = None,
) -> Any:
    """Replace every ``${name}`` in ``node`` (a string, or lists and dicts of them, walked) with ``values[name]``.

    Parameters
    ----------
    node:
        A string, list or dict (other values are returned as they are).
    values:
        The value of every known name.
    where:
        The place of ``node`` for error messages: a prefix (``"hts.yaml: trigger.bucket"``) to which the keys
        below it are added, or a function called with those keys.
    pattern:
        What a reference looks like; group 1 is the name. The default, :data:`REFERENCE`, is what definition
        files use; the deployer passes CloudFormation's ``${Logical.Arn}`` placeholders.
    missing:
        The reason given when a name has no value; by default it says the parameter is not declared.

    Raises
    ------
    ConfigError
        A name has no value; the message names the place and the name.
    """

    def place(keys: tuple[str | int, ...]) -> str:
        if callable(where):
            return where(*keys)
        return where + "".join(f"[{key}]" if isinstance(key, int) else f".{key}" for key in keys)

    def lookup(name: str, keys: tuple[str | int, ...]) -> Any:
        if name not in values:
            reason = missing(name) if missing is not None else _undeclared(name)
            prefix = place(keys)
            raise ConfigError(f"{prefix}: {reason}" if prefix else reason)
        return values[name]

    def walk(value: Any, keys: tuple[str | int, ...]) -> Any:
        if isinstance(value, str):
            whole = pattern.fullmatch(value)
            if whole:
                return lookup(whole.group(1), keys)
            return pattern.sub(lambda match: as_text(lookup(match.group(1), keys)), value)
        if isinstance(value, list):
            return [walk(item, (*keys, index)) for index, item in enumerate(value)]
        if isinstance(value, dict):
            return {key: walk(item, (*keys, key)) for key, item in value.items()}
        return value

    return walk(node, ())


def check_declared(given: Iterable[str], declared: Iterable[str], where: str, option: str) -> None:
    """Refuse values given on the command line (``option name=value``) for parameters nobody declared.

    Raises
    ------
    ConfigError
        Naming every unknown name and listing the declared ones.

    Examples
    --------
    >>> check_declared(["batch_sise"], ["batch_size"], "hts.yaml", "--set")
    Traceback (most recent call last):
    ...
    lab_etl.errors.ConfigError: hts.yaml: --set batch_sise=...: no such parameter; declared ones: batch_size
    """
    known = set(declared)
    unknown = sorted(set(given) - known)
    if unknown:
        options = ", ".join(f"{option} {name}=..." for name in unknown)
        raise ConfigError(f"{where}: {options}: no such parameter; declared ones: {', '.join(sorted(known)) or 'none'}")


def _undeclared(name: str) -> str:
    return f"${{{name}}} is not a declared parameter; declare it under parameters or fix the name"
