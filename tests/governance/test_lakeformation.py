"""Lake Formation as code against the moto server: load, plan, apply, revoke, and the errors a policy file can hold.

Where moto 5.2.5's Lake Formation is incomplete (what these tests cannot show):
- it stores grants verbatim and enforces none: that a role really cannot read ``author`` is Lake Formation's
  job; the tests check the grant that withholds it;
- ``AddLFTagsToResource`` replaces a resource's tags instead of merging them (lab_etl sends the full set, which
  is right on both), and ``GetResourceLFTags`` fails with HTTP 500 for a never-tagged database or table (read as
  "no tags");
- ``ListPermissions`` ignores paging, and it checks neither principals nor that databases or tables exist in Glue.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from lab_etl.contracts import all_tables, contract
from lab_etl.errors import ConfigError, LabEtlError
from lab_etl.governance.lakeformation import (
    Change,
    apply,
    current_state,
    format_plan,
    load_policy,
    plan,
    resource_key,
)

from .conftest import ACCOUNT

pytestmark = pytest.mark.aws

ROLE = f"arn:aws:iam::{ACCOUNT}:role/lab-etl-"
BUCKET = f"arn:aws:s3:::lab-etl-lake-{ACCOUNT}"
TABLE_PERMISSIONS = {"ALTER", "INSERT", "DELETE", "SELECT", "DESCRIBE"}


def _load(path: Path) -> Any:
    return load_policy(path, {"account_id": ACCOUNT})


def _permissions(lf: Any) -> dict[tuple[str, str], tuple[set[str], set[str]]]:
    """Every grant Lake Formation holds, by (role short name, resource key)."""
    found = {}
    for entry in lf.list_permissions()["PrincipalResourcePermissions"]:
        role = entry["Principal"]["DataLakePrincipalIdentifier"].removeprefix(ROLE)
        found[(role, resource_key(entry["Resource"]))] = (
            set(entry["Permissions"]),
            set(entry["PermissionsWithGrantOption"]),
        )
    return found


def _tables(database: str) -> dict[str, Any]:
    return {"Table": {"DatabaseName": database, "TableWildcard": {}}}


def _edited(tmp_path: Path, policy_file: Path, edit: Any) -> Path:
    raw = yaml.safe_load(policy_file.read_text(encoding="utf-8"))
    edit(raw)
    path = tmp_path / "lakeformation.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def _apply_file(lf: Any, path: Path) -> int:
    policy = _load(path)
    return apply(lf, plan(policy, current_state(lf, policy)))


def test_the_shipped_policy_loads_with_its_parameters(policy_file: Path) -> None:
    policy = _load(policy_file)
    assert policy.parameters == {"account_id": ACCOUNT, "lake_bucket": f"lab-etl-lake-{ACCOUNT}"}
    assert policy.locations == [f"{BUCKET}/{layer}" for layer in ("bronze", "silver", "gold", "reference")]
    assert policy.lf_tags == {
        "department": ["chemistry", "preclinical", "adme_tox", "assay_development"],
        "sensitivity": ["public", "internal", "confidential", "personal"],
    }
    assert policy.roles["lab_scientist"] == f"{ROLE}lab-scientist"
    author = next(a for a in policy.tag_assignments if a.target == "lab_silver.eln_experiments.author")
    assert author.resource == {
        "TableWithColumns": {"DatabaseName": "lab_silver", "Name": "eln_experiments", "ColumnNames": ["author"]}
    }
    assert author.tags == {"sensitivity": "personal"}

    grants = {(policy.role_name(g.principal), resource_key(g.resource)): g for g in policy.grants}
    # The analyst's two grants on lab_silver tables are merged into one.
    silver = grants[("lab_analyst", resource_key(_tables("lab_silver")))]
    assert silver.permissions == TABLE_PERMISSIONS and silver.grant_option == frozenset()
    assert grants[("lab_analyst", resource_key(_tables("lab_bronze")))].permissions == {"SELECT", "DESCRIBE"}
    admin = grants[("data_lake_admin", resource_key({"DataLocation": {"ResourceArn": f"{BUCKET}/gold"}}))]
    assert admin.permissions == admin.grant_option == {"DATA_LOCATION_ACCESS"}
    # The lab scientist gets one column-wildcard grant per gold table of schemas/*.yaml.
    gold = sorted(t for t in all_tables() if contract(t).database == "lab_gold")
    scientist = sorted(
        g.resource["TableWithColumns"]["Name"] for g in policy.grants if g.principal == f"{ROLE}lab-scientist"
    )
    assert scientist == gold
    if gold:
        assert policy.warnings == []
    else:
        assert len(policy.warnings) == 1 and "grant to lab_scientist matches no table yet" in policy.warnings[0]


def test_apply_then_plan_says_no_changes(lf: Any, policy_file: Path) -> None:
    policy = _load(policy_file)
    changes = plan(policy, current_state(lf, policy))
    assert [c.action for c in changes[:6]] == ["register"] * 4 + ["create_tag"] * 2
    assert len([c for c in changes if c.action == "assign_tags"]) == len(policy.tag_assignments)

    assert apply(lf, changes) == len(changes)

    after = plan(policy, current_state(lf, policy))
    assert after == []
    assert format_plan(after) == "no changes"
    registered = {r["ResourceArn"] for r in lf.list_resources()["ResourceInfoList"]}
    assert registered == set(policy.locations)
    assert {t["TagKey"]: t["TagValues"] for t in lf.list_lf_tags()["LFTags"]} == policy.lf_tags


def test_apply_twice_changes_nothing_the_second_time(lf: Any, policy_file: Path) -> None:
    first = _apply_file(lf, policy_file)
    held = _permissions(lf)
    calls: list[str] = []
    lf.meta.events.register("before-call.lakeformation.*", lambda model, **_: calls.append(model.name))

    assert _apply_file(lf, policy_file) == 0

    assert first > 0
    assert _permissions(lf) == held
    writes = {"RegisterResource", "CreateLFTag", "UpdateLFTag", "AddLFTagsToResource", "GrantPermissions"}
    assert not writes & set(calls)
    assert {"ListPermissions", "ListLFTags", "GetResourceLFTags"} <= set(calls)


def test_list_permissions_shows_the_grants(lf: Any, policy_file: Path) -> None:
    _apply_file(lf, policy_file)
    held = _permissions(lf)
    assert held[("lab-analyst", resource_key(_tables("lab_silver")))] == (TABLE_PERMISSIONS, set())
    assert held[("lab-analyst", resource_key(_tables("lab_gold")))] == (TABLE_PERMISSIONS, set())
    assert held[("lab-analyst", resource_key(_tables("lab_bronze")))] == ({"SELECT", "DESCRIBE"}, set())
    assert held[("data-scientist", resource_key(_tables("lab_reference")))] == ({"SELECT", "DESCRIBE"}, set())
    assert held[("data-lake-admin", resource_key({"Database": {"Name": "lab_silver"}}))] == ({"ALL"}, {"ALL"})
    assert ("data-scientist", resource_key(_tables("lab_silver"))) not in held
    assert ("lab-analyst", resource_key(_tables("lab_reference"))) not in held


def test_tags_land_on_databases_tables_and_columns(lf: Any, policy_file: Path) -> None:
    _apply_file(lf, policy_file)
    column = lf.get_resource_lf_tags(
        Resource={
            "TableWithColumns": {"DatabaseName": "lab_silver", "Name": "eln_experiments", "ColumnNames": ["author"]}
        }
    )
    assert [(t["TagKey"], t["TagValues"]) for t in column["LFTagsOnColumns"][0]["LFTags"]] == [
        ("sensitivity", ["personal"])
    ]
    table = lf.get_resource_lf_tags(Resource={"Table": {"DatabaseName": "lab_silver", "Name": "eln_experiments"}})
    assert {t["TagKey"]: t["TagValues"] for t in table["LFTagsOnTable"]} == {
        "department": ["chemistry"],
        "sensitivity": ["confidential"],
    }
    database = lf.get_resource_lf_tags(Resource={"Database": {"Name": "lab_reference"}})
    assert database["LFTagOnDatabase"][0]["TagValues"] == ["public"]


def test_lab_scientists_get_every_column_but_the_personal_ones(lf: Any, tmp_path: Path, policy_file: Path) -> None:
    def scientist_on_silver(raw: dict[str, Any]) -> None:
        raw["tag_assignments"]["lab_silver.well_reagents"] = {"sensitivity": "personal"}
        raw["grants"] = [
            {
                "role": "lab_scientist",
                "permissions": ["SELECT"],
                "tables": ["lab_silver.*"],
                "exclude_columns_tagged": {"sensitivity": "personal"},
            }
        ]

    _apply_file(lf, _edited(tmp_path, policy_file, scientist_on_silver))

    held = {
        entry["Resource"]["TableWithColumns"]["Name"]: entry
        for entry in lf.list_permissions(ResourceType="TABLE")["PrincipalResourcePermissions"]
    }
    eln = held["eln_experiments"]
    assert eln["Resource"]["TableWithColumns"]["ColumnWildcard"] == {"ExcludedColumnNames": ["author"]}
    assert eln["Permissions"] == ["SELECT"]
    assert eln["Principal"]["DataLakePrincipalIdentifier"] == f"{ROLE}lab-scientist"
    assert held["plate_layouts"]["Resource"]["TableWithColumns"]["ColumnWildcard"] == {}
    # A table tagged personal as a whole has no column left to grant: it is not granted at all.
    assert "well_reagents" not in held
    silver = {t for t in all_tables() if contract(t).database == "lab_silver"} - {"well_reagents"}
    assert set(held) == silver


def test_removing_a_grant_from_the_file_revokes_it(lf: Any, tmp_path: Path, policy_file: Path) -> None:
    _apply_file(lf, policy_file)

    def drop_reference_and_delete(raw: dict[str, Any]) -> None:
        scientist = next(g for g in raw["grants"] if g["role"] == "data_scientist")
        scientist["tables"] = ["lab_gold.*"]
        curate = next(g for g in raw["grants"] if g["role"] == "lab_analyst" and "ALTER" in g["permissions"])
        curate["permissions"].remove("DELETE")

    edited = _edited(tmp_path, policy_file, drop_reference_and_delete)
    policy = _load(edited)
    changes = plan(policy, current_state(lf, policy))

    assert sorted(str(c) for c in changes) == [
        "- revoke lab_gold.* (all tables): DELETE from lab_analyst",
        "- revoke lab_reference.* (all tables): DESCRIBE, SELECT from data_scientist",
        "- revoke lab_silver.* (all tables): DELETE from lab_analyst",
    ]
    assert format_plan(changes).endswith("3 changes: 3 revoke")

    apply(lf, changes)

    held = _permissions(lf)
    assert ("data-scientist", resource_key(_tables("lab_reference"))) not in held
    assert held[("data-scientist", resource_key(_tables("lab_gold")))] == ({"SELECT", "DESCRIBE"}, set())
    assert held[("lab-analyst", resource_key(_tables("lab_gold")))] == (TABLE_PERMISSIONS - {"DELETE"}, set())
    assert held[("lab-analyst", resource_key(_tables("lab_silver")))] == (TABLE_PERMISSIONS - {"DELETE"}, set())
    assert plan(policy, current_state(lf, policy)) == []


def test_a_grant_made_by_hand_to_a_managed_role_is_revoked(lf: Any, policy_file: Path) -> None:
    _apply_file(lf, policy_file)
    lf.grant_permissions(
        Principal={"DataLakePrincipalIdentifier": f"{ROLE}lab-scientist"},
        Resource={"Table": {"DatabaseName": "lab_silver", "Name": "eln_experiments"}},
        Permissions=["SELECT"],
    )
    lf.grant_permissions(  # a tag-expression grant: compared and revoked like any other resource
        Principal={"DataLakePrincipalIdentifier": f"{ROLE}lab-scientist"},
        Resource={
            "LFTagPolicy": {
                "ResourceType": "TABLE",
                "Expression": [
                    {"TagKey": "sensitivity", "TagValues": ["public", "internal"]},
                    {"TagKey": "department", "TagValues": ["chemistry"]},
                ],
            }
        },
        Permissions=["SELECT"],
    )
    lf.grant_permissions(  # a role the file does not name is left alone
        Principal={"DataLakePrincipalIdentifier": f"arn:aws:iam::{ACCOUNT}:role/other-team"},
        Resource={"Table": {"DatabaseName": "lab_silver", "Name": "eln_experiments"}},
        Permissions=["SELECT"],
    )
    policy = _load(policy_file)
    changes = plan(policy, current_state(lf, policy))
    assert sorted(str(c) for c in changes) == [
        "- revoke lab_silver.eln_experiments: SELECT from lab_scientist",
        "- revoke tables tagged sensitivity in (internal, public) and department in (chemistry): "
        "SELECT from lab_scientist",
    ]
    apply(lf, changes)
    assert plan(policy, current_state(lf, policy)) == []
    others = [
        p["Principal"]["DataLakePrincipalIdentifier"] for p in lf.list_permissions()["PrincipalResourcePermissions"]
    ]
    assert f"arn:aws:iam::{ACCOUNT}:role/other-team" in others


def test_tag_changes_are_planned_and_applied(lf: Any, tmp_path: Path, policy_file: Path) -> None:
    _apply_file(lf, policy_file)

    def retag(raw: dict[str, Any]) -> None:
        raw["lf_tags"]["department"] = ["chemistry", "preclinical", "assay_development", "biology"]
        raw["tag_assignments"]["lab_silver.eln_experiments"] = {"sensitivity": "internal"}

    policy = _load(_edited(tmp_path, policy_file, retag))
    changes = plan(policy, current_state(lf, policy))
    assert [str(c) for c in changes] == [
        "~ update_tag department: +biology, -adme_tox",
        "- remove_tags lab_silver.eln_experiments: department=chemistry",
        "+ assign_tags lab_silver.eln_experiments: sensitivity=internal",
    ]
    apply(lf, changes)
    table = lf.get_resource_lf_tags(Resource={"Table": {"DatabaseName": "lab_silver", "Name": "eln_experiments"}})
    assert [(t["TagKey"], t["TagValues"]) for t in table["LFTagsOnTable"]] == [("sensitivity", ["internal"])]
    department = next(t for t in lf.list_lf_tags()["LFTags"] if t["TagKey"] == "department")
    assert sorted(department["TagValues"]) == ["assay_development", "biology", "chemistry", "preclinical"]
    assert plan(policy, current_state(lf, policy)) == []


def test_apply_names_the_change_lake_formation_refused(lf: Any) -> None:
    refused = Change(
        "assign_tags",
        "lab_silver",
        "owner=nobody",
        "add_lf_tags_to_resource",
        {"Resource": {"Database": {"Name": "lab_silver"}}, "LFTags": [{"TagKey": "owner", "TagValues": ["x"]}]},
    )
    with pytest.raises(LabEtlError, match=r"change 1 of 1 failed \(\+ assign_tags lab_silver: owner=nobody\)"):
        apply(lf, [refused])


def test_format_plan_counts_each_action() -> None:
    changes = [
        Change("register", "arn:aws:s3:::b/p", "with the service-linked role", "register_resource", {}),
        Change("revoke", "lab_gold.* (all tables)", "DELETE from lab_analyst", "revoke_permissions", {}),
    ]
    assert format_plan(changes).splitlines() == [
        "+ register arn:aws:s3:::b/p: with the service-linked role",
        "- revoke lab_gold.* (all tables): DELETE from lab_analyst",
        "2 changes: 1 register, 1 revoke",
    ]


# ------------------------------------------------------------------------------------------ errors in the file


def _line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if text in line)


def _break(tmp_path: Path, policy_file: Path, old: str, new: str) -> Path:
    text = policy_file.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "lakeformation.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_an_unknown_table_is_a_config_error_naming_it(tmp_path: Path, policy_file: Path) -> None:
    path = _break(
        tmp_path, policy_file, "tables: [lab_bronze.*, lab_silver.*]", "tables: [lab_bronze.*, lab_silver.eln]"
    )
    line = _line_of(path, "lab_silver.eln]")
    with pytest.raises(ConfigError) as error:
        _load(path)
    message = str(error.value)
    assert message.startswith(f"{path}:{line}: grants[3].tables[1]: unknown table lab_silver.eln;")
    assert "eln_experiments" in message and "schemas/eln.yaml" in message


@pytest.mark.parametrize(
    ("old", "new", "at", "reason"),
    [
        (
            "lab_silver.eln_experiments.author: {",
            "lab_silver.eln_experiments.writer: {",
            "eln_experiments.writer:",
            "tag_assignments.lab_silver.eln_experiments.writer: table lab_silver.eln_experiments has no column writer",
        ),
        (
            "lab_gold: {sensitivity: internal}",
            "lab_platinum: {sensitivity: internal}",
            "lab_platinum:",
            "unknown database lab_platinum; known: ",
        ),
        (
            "lab_reference: {sensitivity: public}",
            "lab_reference: {sensitivity: secret}",
            "{sensitivity: secret}",
            "'secret' is not a value of LF-tag sensitivity",
        ),
        ("  - role: data_scientist", "  - role: data_engineer", "role: data_engineer", "unknown role data_engineer"),
        ("permissions: [SELECT, DESCRIBE]", "permissions: [SELECT, READ]", "[SELECT, READ]", "'READ' is not one of"),
        (
            "    databases: [lab_bronze,",
            "    tables: [lab_gold.*]\n    databases: [lab_bronze,",
            "  - role: data_lake_admin",
            "grants[0]: a grant names exactly one of databases, tables or locations",
        ),
        ("version: 1", "version: 2", "version: 2", "version: 1 was expected"),
    ],
)
def test_errors_in_the_file_name_line_and_item(
    tmp_path: Path, policy_file: Path, old: str, new: str, at: str, reason: str
) -> None:
    path = _break(tmp_path, policy_file, old, new)
    with pytest.raises(ConfigError) as error:
        _load(path)
    assert str(error.value).startswith(f"{path}:{_line_of(path, at)}: ")
    assert reason in str(error.value)


def test_exclusion_only_with_select(tmp_path: Path, policy_file: Path) -> None:
    path = _break(
        tmp_path,
        policy_file,
        "permissions: [SELECT]\n    tables: [lab_gold.*]",
        "permissions: [SELECT, DESCRIBE]\n    tables: [lab_gold.*]",
    )
    with pytest.raises(ConfigError, match=r"grants\[6\]\.permissions\[1\]: 'SELECT' was expected"):
        _load(path)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "  - arn:aws:s3:::${lake_bucket}/gold",
            "  - arn:aws:s3:::${lake_bucket}/${zone}",
            r"lakeformation.yaml:\d+: locations\[2\]: \$\{zone\} is not a declared parameter",
        ),
        # Parameter names are lower case: a capitalised reference is an error, not text left in an ARN.
        (
            "  - arn:aws:s3:::${lake_bucket}/gold",
            "  - arn:aws:s3:::${Lake_Bucket}/gold",
            r"locations\[2\]: \$\{Lake_Bucket\} is not a declared parameter",
        ),
        (
            "default: lab-etl-lake-${account_id}",
            "default: lab-etl-lake-${acount_id}",
            r"parameters\.lake_bucket\.default: \$\{acount_id\} is not a declared parameter",
        ),
    ],
)
def test_an_undeclared_reference_is_a_config_error_naming_the_line(
    tmp_path: Path, policy_file: Path, old: str, new: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        _load(_break(tmp_path, policy_file, old, new))


def test_parameters_are_checked(policy_file: Path) -> None:
    with pytest.raises(ConfigError, match=r"parameter account_id has no value and no default; pass --param account_id"):
        load_policy(policy_file)
    with pytest.raises(ConfigError, match=r"account_id='12345' does not match \^\[0-9\]\{12\}\$"):
        load_policy(policy_file, {"account_id": "12345"})
    with pytest.raises(
        ConfigError, match=r"--param acount_id=\.\.\.: no such parameter; declared ones: account_id, lake_"
    ):
        load_policy(policy_file, {"acount_id": ACCOUNT})
    resolved = load_policy(policy_file, {"lake_bucket": "my-lake"}, resolve=lambda name: "210987654321")
    assert resolved.locations[0] == "arn:aws:s3:::my-lake/bronze"
    assert resolved.roles["lab_analyst"] == "arn:aws:iam::210987654321:role/lab-etl-lab-analyst"
