"""Lake Formation as code: a YAML policy, the account's current state, the plan between them, and apply.

``governance/lakeformation.yaml`` declares the data-lake locations, the LF-tags and their values, the tags of
databases, tables and columns, and the grants of a few IAM roles (format: ``schemas/lakeformation.schema.json``).
:func:`load_policy` validates it against that schema and against the table contracts of ``schemas/*.yaml``;
:func:`current_state` reads what Lake Formation holds; :func:`plan` lists the changes that make the account match
the file; :func:`apply` makes them. Applying twice changes nothing, and after an apply :func:`plan` is empty.

What the file manages, and what it leaves alone:

- locations it lists are registered (never deregistered: other teams may register their own);
- LF-tags it lists get exactly its values (tag keys it does not list are left alone);
- a database, table or column it lists gets exactly its tags among the file's tag keys;
- the roles it lists get exactly its grants: anything else granted to them is revoked. Roles it does not list
  are never touched, so a role removed from the file keeps its grants until revoked by hand.

Examples
--------
>>> policy = load_policy("governance/lakeformation.yaml", {"account_id": "123456789012"})  # doctest: +SKIP
>>> changes = plan(policy, current_state(lf, policy))                                      # doctest: +SKIP
>>> print(format_plan(changes))                                                            # doctest: +SKIP
+ register arn:aws:s3:::lab-etl-lake-123456789012/bronze: with the service-linked role
...
>>> apply(lf, changes)                                                                     # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from botocore.exceptions import ClientError

from lab_etl.aws import error_code, error_text
from lab_etl.contracts import TableContract, all_tables, contract, schemas_dir
from lab_etl.errors import ConfigError, LabEtlError
from lab_etl.params import check_declared, read_yaml, references, substitute

log = logging.getLogger(__name__)

SCHEMA_FILE = "lakeformation.schema.json"

_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/\S+$")

Action = Literal["register", "create_tag", "update_tag", "remove_tags", "assign_tags", "grant", "revoke"]
_ORDER: tuple[Action, ...] = ("register", "create_tag", "update_tag", "remove_tags", "assign_tags", "grant", "revoke")
_SYMBOL = {"register": "+", "create_tag": "+", "update_tag": "~", "remove_tags": "-", "assign_tags": "+"}
_SYMBOL |= {"grant": "+", "revoke": "-"}


@dataclass(frozen=True)
class TagAssignment:
    """The LF-tags one database, table or column should carry (``target`` as written: ``db[.table[.column]]``)."""

    target: str
    database: str
    table: str | None
    column: str | None
    tags: dict[str, str]

    @property
    def resource(self) -> dict[str, Any]:
        """The Lake Formation ``Resource`` of the target."""
        if self.column is not None:
            return {
                "TableWithColumns": {"DatabaseName": self.database, "Name": self.table, "ColumnNames": [self.column]}
            }
        if self.table is not None:
            return {"Table": {"DatabaseName": self.database, "Name": self.table}}
        return {"Database": {"Name": self.database}}


@dataclass(frozen=True)
class Grant:
    """Permissions of one principal on one resource (a Lake Formation ``PrincipalResourcePermissions``)."""

    principal: str
    resource: dict[str, Any]
    permissions: frozenset[str]
    grant_option: frozenset[str] = frozenset()

    @property
    def key(self) -> tuple[str, str]:
        return self.principal, resource_key(self.resource)


@dataclass
class Policy:
    """A validated policy file with its parameters substituted and its grants expanded to resources.

    ``grants`` holds one :class:`Grant` per principal and resource (grants of the file on the same resource are
    merged); ``warnings`` says what the file asks for that matches nothing yet.
    """

    path: Path
    parameters: dict[str, str]
    locations: list[str]
    lf_tags: dict[str, list[str]]
    tag_assignments: list[TagAssignment]
    roles: dict[str, str]
    grants: list[Grant]
    warnings: list[str] = field(default_factory=list)

    def role_name(self, principal: str) -> str:
        """The file's short name of a principal ARN (the ARN itself when the file does not name it)."""
        return next((name for name, arn in self.roles.items() if arn == principal), principal)


@dataclass
class State:
    """What Lake Formation holds of what a policy manages.

    ``tags`` maps each tag-assignment target of the policy to its current tags (among the policy's tag keys);
    ``grants`` holds every permission of the policy's roles, with resources exactly as Lake Formation returned
    them (so revokes name the very resource).
    """

    registered: set[str]
    lf_tags: dict[str, set[str]]
    tags: dict[str, dict[str, str]]
    grants: list[Grant]


@dataclass(frozen=True)
class Change:
    """One step of a plan: what it does, on what, and the Lake Formation call that does it."""

    action: Action
    target: str
    detail: str
    operation: str
    request: dict[str, Any]

    def __str__(self) -> str:
        return f"{_SYMBOL[self.action]} {self.action} {self.target}: {self.detail}"


# --------------------------------------------------------------------------------------------------- loading


def load_policy(
    path: str | Path,
    parameters: Mapping[str, str] | None = None,
    resolve: Callable[[str], str] | None = None,
) -> Policy:
    """Read, validate and expand a Lake Formation policy file.

    Parameters
    ----------
    path:
        The YAML file (``governance/lakeformation.yaml``).
    parameters:
        Values for the file's ``parameters`` (``{"account_id": "123456789012"}``); they override defaults.
    resolve:
        Called with the name of a parameter that has neither a value nor a default (the CLI asks STS for
        ``account_id``); without it such a parameter is an error.

    Raises
    ------
    ConfigError
        Naming the file, the line and the item: invalid YAML, a schema violation, an unknown parameter,
        database, table, column, tag or role, a parameter value not matching its pattern.

    Examples
    --------
    >>> policy = load_policy("governance/lakeformation.yaml", {"account_id": "123456789012"})  # doctest: +SKIP
    >>> policy.roles["lab_analyst"]                                                            # doctest: +SKIP
    'arn:aws:iam::123456789012:role/lab-etl-lab-analyst'
    """
    path = Path(path)
    text, raw = read_yaml(path, "policy file")
    root = yaml.compose(text)
    where = _Locator(path, root)
    _validate_schema(raw, where)
    values = _resolve_parameters(raw.get("parameters") or {}, dict(parameters or {}), resolve, where)
    # The parameters' own defaults were substituted when they were resolved; the rest of the file uses them.
    raw = substitute({key: value for key, value in raw.items() if key != "parameters"}, values, where)
    return _build_policy(path, raw, values, where)


class _Locator:
    """Turns a path inside the document into ``file:line: path`` for error messages."""

    def __init__(self, path: Path, root: yaml.Node | None) -> None:
        self.path = path
        self.root = root

    def __call__(self, *keys: str | int) -> str:
        node = self.root
        for key in keys:
            if isinstance(node, yaml.MappingNode):
                node = next((v for k, v in node.value if k.value == key), None)
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
                node = node.value[key]
            else:
                node = None
            if node is None:
                break
        line = f":{node.start_mark.line + 1}" if node is not None else ""
        label = "".join(f"[{k}]" if isinstance(k, int) else (f".{k}" if i else str(k)) for i, k in enumerate(keys))
        return f"{self.path}{line}: {label}" if label else f"{self.path}{line}"


def _validate_schema(raw: Any, where: _Locator) -> None:
    import jsonschema

    schema_path = schemas_dir() / SCHEMA_FILE
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(raw), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if errors:
        error = jsonschema.exceptions.best_match(errors) or errors[0]
        reason = error.message
        if error.validator == "oneOf" and list(error.absolute_path)[:1] == ["grants"]:
            reason = "a grant names exactly one of databases, tables or locations"
        raise ConfigError(f"{where(*error.absolute_path)}: {reason} (see {schema_path.name})")


def _resolve_parameters(
    declared: Mapping[str, Mapping[str, str]],
    given: dict[str, str],
    resolve: Callable[[str], str] | None,
    where: _Locator,
) -> dict[str, str]:
    check_declared(given, declared, where("parameters"), "--param")
    for name, spec in declared.items():
        if "default" in spec:  # names only: a default may use any declared parameter, whatever its value
            substitute(spec["default"], {other: other for other in declared}, where("parameters", name, "default"))
    values: dict[str, str] = {}
    pending = dict(declared)
    # Defaults may refer to other parameters (lake_bucket: lab-etl-lake-${account_id}); resolve in dependency order.
    for _ in range(len(declared) + 1):
        for name, spec in list(pending.items()):
            if name in given:
                value = given[name]
            elif "default" in spec:
                if not set(references(spec["default"])) <= set(values):
                    continue
                value = str(substitute(spec["default"], values, where("parameters", name, "default")))
            elif resolve is not None:
                value = resolve(name)
            else:
                raise ConfigError(
                    f"{where('parameters', name)}: parameter {name} has no value and no default; "
                    f"pass --param {name}=VALUE ({spec['description']})"
                )
            pattern = spec.get("pattern")
            if pattern and not re.fullmatch(pattern, value):
                raise ConfigError(f"{where('parameters', name)}: {name}={value!r} does not match {pattern}")
            values[name] = value
            del pending[name]
    if pending:
        raise ConfigError(f"{where('parameters')}: defaults of {', '.join(sorted(pending))} refer to each other")
    return values


def _contracts() -> dict[tuple[str, str], TableContract]:
    """Every table contract of ``schemas/*.yaml`` by (database, table)."""
    found = {}
    for name in all_tables():
        table = contract(name)
        found[(table.database, table.table)] = table
    return found


def _known_databases(tables: Mapping[tuple[str, str], TableContract]) -> set[str]:
    from lab_etl.lakehouse.spark import DATABASES

    return set(DATABASES) | {database for database, _ in tables}


def _build_policy(path: Path, raw: dict[str, Any], values: dict[str, str], where: _Locator) -> Policy:
    tables = _contracts()
    databases = _known_databases(tables)
    lf_tags: dict[str, list[str]] = {k: list(v) for k, v in raw["lf_tags"].items()}

    def check_tags(tags: Mapping[str, str], *keys: str | int) -> None:
        for key, value in tags.items():
            if key not in lf_tags:
                raise ConfigError(f"{where(*keys, key)}: no LF-tag '{key}' in lf_tags ({', '.join(lf_tags)})")
            if value not in lf_tags[key]:
                raise ConfigError(
                    f"{where(*keys, key)}: '{value}' is not a value of LF-tag {key} ({', '.join(lf_tags[key])})"
                )

    def check_database(name: str, *keys: str | int) -> None:
        if name not in databases:
            raise ConfigError(f"{where(*keys)}: unknown database {name}; known: {', '.join(sorted(databases))}")

    def table_contract(database: str, table: str, *keys: str | int) -> TableContract:
        check_database(database, *keys)
        if (database, table) not in tables:
            known = sorted(t for d, t in tables if d == database)
            raise ConfigError(
                f"{where(*keys)}: unknown table {database}.{table}; tables of {database} in schemas/*.yaml: "
                f"{', '.join(known) or 'none'} (add a contract schemas/{table}.yaml or fix the name)"
            )
        return tables[(database, table)]

    assignments = []
    for target, tags in (raw.get("tag_assignments") or {}).items():
        parts = target.split(".")
        check_tags(tags, "tag_assignments", target)
        if len(parts) == 1:
            check_database(parts[0], "tag_assignments", target)
        else:
            table = table_contract(parts[0], parts[1], "tag_assignments", target)
            if len(parts) == 3 and parts[2] not in table.column_names:
                raise ConfigError(
                    f"{where('tag_assignments', target)}: table {table.qualified_name} has no column {parts[2]}; "
                    f"its columns: {', '.join(table.column_names)}"
                )
        padded = [*parts, None, None]
        assignments.append(TagAssignment(target, parts[0], padded[1], padded[2], dict(tags)))

    roles = dict(raw["roles"])
    for name, arn in roles.items():
        if not _ROLE_ARN.match(arn):
            raise ConfigError(f"{where('roles', name)}: {arn!r} is not an IAM role ARN arn:aws:iam::<12 digits>:role/…")
    locations = list(raw.get("locations") or [])

    merged: dict[tuple[str, str], Grant] = {}
    warnings: list[str] = []
    for index, entry in enumerate(raw["grants"]):
        keys: tuple[str | int, ...] = ("grants", index)
        if entry["role"] not in roles:
            raise ConfigError(f"{where(*keys, 'role')}: unknown role {entry['role']}; roles: {', '.join(roles)}")
        principal = roles[entry["role"]]
        check_tags(entry.get("exclude_columns_tagged") or {}, *keys, "exclude_columns_tagged")
        resources = list(_grant_resources(entry, keys, where, tables, locations, assignments, table_contract))
        if not resources:
            warnings.append(f"{where(*keys)}: the grant to {entry['role']} matches no table yet; nothing is granted")
        permissions = frozenset(entry["permissions"])
        grant_option = permissions if entry.get("grant_option") else frozenset()
        for resource in resources:
            grant = Grant(principal, resource, permissions, grant_option)
            if grant.key in merged:
                earlier = merged[grant.key]
                grant = Grant(
                    principal, resource, earlier.permissions | permissions, earlier.grant_option | grant_option
                )
            merged[grant.key] = grant
    return Policy(
        path=path,
        parameters=values,
        locations=locations,
        lf_tags=lf_tags,
        tag_assignments=assignments,
        roles=roles,
        grants=list(merged.values()),
        warnings=warnings,
    )


def _grant_resources(
    entry: Mapping[str, Any],
    keys: tuple[str | int, ...],
    where: _Locator,
    tables: Mapping[tuple[str, str], TableContract],
    locations: Sequence[str],
    assignments: Sequence[TagAssignment],
    table_contract: Callable[..., TableContract],
) -> Iterator[dict[str, Any]]:
    if "databases" in entry:
        for i, database in enumerate(entry["databases"]):
            if database not in _known_databases(tables):
                known = ", ".join(sorted(_known_databases(tables)))
                raise ConfigError(f"{where(*keys, 'databases', i)}: unknown database {database}; known: {known}")
            yield {"Database": {"Name": database}}
    elif "locations" in entry:
        arns = locations if entry["locations"] == "*" else entry["locations"]
        for i, arn in enumerate(arns):
            if arn not in locations:
                raise ConfigError(f"{where(*keys, 'locations', i)}: {arn} is not one of the file's locations")
            yield {"DataLocation": {"ResourceArn": arn}}
    else:
        exclude = entry.get("exclude_columns_tagged")
        for i, name in enumerate(entry["tables"]):
            database, table = name.split(".")
            if table == "*":
                if database not in _known_databases(tables):
                    known = ", ".join(sorted(_known_databases(tables)))
                    raise ConfigError(f"{where(*keys, 'tables', i)}: unknown database {database}; known: {known}")
                if not exclude:
                    yield {"Table": {"DatabaseName": database, "TableWildcard": {}}}
                    continue
                chosen = [tables[k] for k in sorted(tables) if k[0] == database]
            else:
                chosen = [table_contract(database, table, *keys, "tables", i)]
                if not exclude:
                    yield {"Table": {"DatabaseName": database, "Name": table}}
                    continue
            for each in chosen:
                resource = _without_tagged_columns(each, exclude, assignments)
                if resource is not None:
                    yield resource


def _without_tagged_columns(
    table: TableContract, exclude: Mapping[str, str], assignments: Sequence[TagAssignment]
) -> dict[str, Any] | None:
    """``TableWithColumns`` on every column of ``table`` except those whose effective tags match ``exclude``.

    A column's effective tags are Lake Formation's inheritance: the database's, overridden by the table's,
    overridden by the column's. ``None`` when every column is excluded (the table is not granted at all).
    """
    by_target = {a.target: a.tags for a in assignments}
    base = {**by_target.get(table.database, {}), **by_target.get(table.qualified_name, {})}
    excluded = []
    for column in table.column_names:
        tags = {**base, **by_target.get(f"{table.qualified_name}.{column}", {})}
        if any(tags.get(key) == value for key, value in exclude.items()):
            excluded.append(column)
    if len(excluded) == len(table.column_names):
        log.info("%s: every column is excluded; not granted", table.qualified_name)
        return None
    wildcard: dict[str, Any] = {"ExcludedColumnNames": excluded} if excluded else {}
    return {"TableWithColumns": {"DatabaseName": table.database, "Name": table.table, "ColumnWildcard": wildcard}}


# ----------------------------------------------------------------------------------------------------- state


def resource_key(resource: Mapping[str, Any]) -> str:
    """A canonical text of a Lake Formation resource: ``CatalogId`` dropped, lists sorted, keys ordered.

    Lake Formation may add the catalog id and reorder lists; two resources with the same key are the same.

    Examples
    --------
    >>> resource_key({"Table": {"CatalogId": "1", "DatabaseName": "lab_gold", "TableWildcard": {}}})
    '{"Table": {"DatabaseName": "lab_gold", "TableWildcard": {}}}'
    """

    def canonical(node: Any) -> Any:
        if isinstance(node, Mapping):
            return {k: canonical(v) for k, v in node.items() if k != "CatalogId"}
        if isinstance(node, list):
            return sorted((canonical(v) for v in node), key=lambda v: json.dumps(v, sort_keys=True))
        return node

    return json.dumps(canonical(resource), sort_keys=True)


def describe_resource(resource: Mapping[str, Any]) -> str:
    """A resource in words: ``lab_gold.* (all tables)``, ``lab_silver.eln_experiments (all columns but author)``.

    Examples
    --------
    >>> describe_resource({"Table": {"DatabaseName": "lab_gold", "TableWildcard": {}}})
    'lab_gold.* (all tables)'
    """
    if "Database" in resource:
        return f"database {resource['Database']['Name']}"
    if "Table" in resource:
        table = resource["Table"]
        if "TableWildcard" in table:
            return f"{table['DatabaseName']}.* (all tables)"
        return f"{table['DatabaseName']}.{table['Name']}"
    if "TableWithColumns" in resource:
        table = resource["TableWithColumns"]
        name = f"{table['DatabaseName']}.{table['Name']}"
        excluded = (table.get("ColumnWildcard") or {}).get("ExcludedColumnNames") or []
        if "ColumnNames" in table:
            return f"{name} (columns {', '.join(table['ColumnNames'])})"
        return f"{name} (all columns but {', '.join(excluded)})" if excluded else f"{name} (all columns)"
    if "DataLocation" in resource:
        return f"location {resource['DataLocation']['ResourceArn']}"
    if "LFTagPolicy" in resource:
        policy = resource["LFTagPolicy"]
        terms = [f"{t['TagKey']} in ({', '.join(sorted(t['TagValues']))})" for t in policy.get("Expression", [])]
        return f"{str(policy.get('ResourceType', '')).lower()}s tagged {' and '.join(terms)}"
    return resource_key(resource)


def _lf_error(what: str, exc: ClientError) -> LabEtlError:
    return LabEtlError(
        f"Lake Formation refused to {what}: {error_text(exc)}; "
        "the caller must be a data-lake admin (GetDataLakeSettings shows them)"
    )


def _pages(call: Callable[..., dict[str, Any]], result_key: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item of a NextToken-paginated Lake Formation listing (botocore has no paginator for these)."""
    token = None
    while True:
        page = call(**kwargs, **({"NextToken": token} if token else {}))
        yield from page.get(result_key, [])
        token = page.get("NextToken")
        if not token:
            return


def current_state(lf: Any, policy: Policy) -> State:
    """What Lake Formation holds of what ``policy`` manages.

    Reads the registered locations, the LF-tags, the tags of each database / table / column the policy assigns
    tags to, and every permission of the policy's roles.

    Examples
    --------
    >>> state = current_state(aws_client("lakeformation"), policy)  # doctest: +SKIP
    >>> sorted(state.lf_tags["sensitivity"])                         # doctest: +SKIP
    ['confidential', 'internal', 'personal', 'public']
    """
    try:
        registered = {r["ResourceArn"] for r in _pages(lf.list_resources, "ResourceInfoList")}
        lf_tags = {t["TagKey"]: set(t["TagValues"]) for t in _pages(lf.list_lf_tags, "LFTags")}
        principals = set(policy.roles.values())
        grants = [
            Grant(
                entry["Principal"]["DataLakePrincipalIdentifier"],
                entry["Resource"],
                frozenset(entry.get("Permissions") or []),
                frozenset(entry.get("PermissionsWithGrantOption") or []),
            )
            for entry in _pages(lf.list_permissions, "PrincipalResourcePermissions")
            if entry.get("Principal", {}).get("DataLakePrincipalIdentifier") in principals
        ]
    except ClientError as exc:
        raise _lf_error("list resources, LF-tags and permissions", exc) from exc
    managed = set(policy.lf_tags)
    tags = {a.target: _assigned_tags(lf, a, managed) for a in policy.tag_assignments}
    return State(registered=registered, lf_tags=lf_tags, tags=tags, grants=grants)


def _assigned_tags(lf: Any, assignment: TagAssignment, managed: set[str]) -> dict[str, str]:
    try:
        response = lf.get_resource_lf_tags(Resource=assignment.resource, ShowAssignedLFTags=True)
    except ClientError as exc:
        if error_code(exc) == "EntityNotFoundException":
            return {}  # the Glue table is not published yet: nothing assigned; apply will say so
        if error_code(exc) == "500":
            # moto 5.2.5 fails with a bare HTTP 500 (a KeyError inside it) for a database or table that was never
            # tagged; real Lake Formation answers with a JSON error type, so a code of "500" only comes from moto.
            return {}
        raise _lf_error(f"read the LF-tags of {assignment.target}", exc) from exc
    if assignment.column is not None:
        found = [c.get("LFTags", []) for c in response.get("LFTagsOnColumns", []) if c["Name"] == assignment.column]
        tag_list = found[0] if found else []
    elif assignment.table is not None:
        tag_list = response.get("LFTagsOnTable", [])
    else:
        tag_list = response.get("LFTagOnDatabase", [])
    return {t["TagKey"]: ",".join(sorted(t["TagValues"])) for t in tag_list if t["TagKey"] in managed}


# ------------------------------------------------------------------------------------------------------ plan


def plan(policy: Policy, state: State) -> list[Change]:
    """The changes that make Lake Formation match ``policy``, in the order :func:`apply` runs them.

    Registers missing locations, creates LF-tags and adds or deletes their values, removes and assigns tags,
    grants what is missing and revokes what the file no longer grants its roles. Empty when nothing differs.

    Examples
    --------
    >>> plan(policy, current_state(lf, policy))  # doctest: +SKIP
    []
    """
    changes: list[Change] = []
    for arn in policy.locations:
        if arn not in state.registered:
            request = {"ResourceArn": arn, "UseServiceLinkedRole": True}
            changes.append(Change("register", arn, "with the service-linked role", "register_resource", request))
    for key, values in policy.lf_tags.items():
        if key not in state.lf_tags:
            detail = ", ".join(values)
            request = {"TagKey": key, "TagValues": list(values)}
            changes.append(Change("create_tag", key, detail, "create_lf_tag", request))
            continue
        add = [v for v in values if v not in state.lf_tags[key]]
        delete = sorted(state.lf_tags[key] - set(values))
        if add or delete:
            update: dict[str, Any] = {"TagKey": key}
            if add:
                update["TagValuesToAdd"] = add
            if delete:
                update["TagValuesToDelete"] = delete
            detail = ", ".join([*(f"+{v}" for v in add), *(f"-{v}" for v in delete)])
            changes.append(Change("update_tag", key, detail, "update_lf_tag", update))
    changes += _tag_changes(policy, state)
    changes += _grant_changes(policy, state)
    return sorted(changes, key=lambda c: _ORDER.index(c.action))


def _tag_changes(policy: Policy, state: State) -> Iterator[Change]:
    for assignment in policy.tag_assignments:
        current = state.tags.get(assignment.target, {})
        wanted = assignment.tags
        stale = {k: v.split(",") for k, v in current.items() if k not in wanted}
        if stale:
            yield _tags_change("remove_tags", "remove_lf_tags_from_resource", assignment, stale)
        if any(current.get(k) != v for k, v in wanted.items()):
            # All the target's tags are sent, not just the changed ones: adding replaces a key's value on
            # Lake Formation, and moto replaces the whole set, so both end up with exactly these.
            yield _tags_change(
                "assign_tags", "add_lf_tags_to_resource", assignment, {k: [v] for k, v in wanted.items()}
            )


def _tags_change(action: Action, operation: str, assignment: TagAssignment, tags: Mapping[str, list[str]]) -> Change:
    return Change(
        action,
        assignment.target,
        ", ".join(f"{k}={','.join(values)}" for k, values in tags.items()),
        operation,
        {"Resource": assignment.resource, "LFTags": [{"TagKey": k, "TagValues": v} for k, v in tags.items()]},
    )


def _grant_changes(policy: Policy, state: State) -> Iterator[Change]:
    current: dict[tuple[str, str], Grant] = {}
    for grant in state.grants:
        earlier = current.get(grant.key)
        if earlier is not None:
            grant = Grant(
                grant.principal,
                earlier.resource,
                earlier.permissions | grant.permissions,
                earlier.grant_option | grant.grant_option,
            )
        current[grant.key] = grant
    wanted = {g.key: g for g in policy.grants}
    for key, grant in wanted.items():
        have = current.get(key)
        missing = grant.permissions - (have.permissions if have else frozenset())
        missing_option = grant.grant_option - (have.grant_option if have else frozenset())
        if missing or missing_option:
            yield _permission_change("grant", policy, grant, missing | missing_option, missing_option)
    for key, have in current.items():
        grant_ = wanted.get(key)
        extra = have.permissions - (grant_.permissions if grant_ else frozenset())
        extra_option = have.grant_option - (grant_.grant_option if grant_ else frozenset())
        if extra or extra_option:
            yield _permission_change("revoke", policy, have, extra, extra_option)


def _permission_change(
    action: Literal["grant", "revoke"],
    policy: Policy,
    grant: Grant,
    permissions: frozenset[str],
    option: frozenset[str],
) -> Change:
    words = ", ".join(sorted(permissions))
    if option:
        words += f" (grantable: {', '.join(sorted(option))})"
    direction = "to" if action == "grant" else "from"
    return Change(
        action,
        describe_resource(grant.resource),
        f"{words} {direction} {policy.role_name(grant.principal)}",
        f"{action}_permissions",
        {
            "Principal": {"DataLakePrincipalIdentifier": grant.principal},
            "Resource": grant.resource,
            "Permissions": sorted(permissions),
            "PermissionsWithGrantOption": sorted(option),
        },
    )


def format_plan(changes: Sequence[Change]) -> str:
    """The plan as text, one change a line and a count per action; ``no changes`` when empty.

    Examples
    --------
    >>> format_plan([])
    'no changes'
    """
    if not changes:
        return "no changes"
    counts = {action: sum(c.action == action for c in changes) for action in _ORDER}
    summary = ", ".join(f"{n} {action}" for action, n in counts.items() if n)
    return "\n".join([*(str(c) for c in changes), f"{len(changes)} changes: {summary}"])


# ----------------------------------------------------------------------------------------------------- apply


def apply(lf: Any, changes: Sequence[Change]) -> int:
    """Make the changes of a plan, in order; returns how many were made.

    Raises
    ------
    LabEtlError
        When Lake Formation refuses a change; the message names it. The changes before it stay made: run
        ``plan`` again to see what remains.

    Examples
    --------
    >>> apply(lf, plan(policy, current_state(lf, policy)))  # doctest: +SKIP
    12
    """
    for number, change in enumerate(changes, start=1):
        try:
            response = getattr(lf, change.operation)(**change.request)
        except ClientError as exc:
            if change.action == "register" and error_code(exc) == "AlreadyExistsException":
                continue  # registered meanwhile: the state wanted
            raise LabEtlError(
                f"change {number} of {len(changes)} failed ({change}): {error_text(exc)}; "
                f"the {number - 1} change(s) before it were made, "
                "run `lab-etl governance plan` to see what remains"
            ) from exc
        failures = response.get("Failures") or []
        if failures:
            first = failures[0]
            raise LabEtlError(
                f"change {number} of {len(changes)} failed ({change}): "
                f"{first.get('Error', {}).get('ErrorCode')}: {first.get('Error', {}).get('ErrorMessage')}; "
                "create the LF-tag and its values first (they are in the same plan when the file declares them)"
            )
        log.info("applied %s", change)
    return len(changes)
