"""``${name}`` substitution shared by workflow definitions and the Lake Formation policy."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest

from lab_etl import params
from lab_etl.errors import ConfigError
from lab_etl.params import as_text, check_declared, read_yaml, references, substitute


def test_docstring_examples() -> None:
    result = doctest.testmod(params, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted >= 5


def test_a_whole_reference_keeps_the_type_and_an_embedded_one_is_text() -> None:
    values = {"batch_size": 10, "dry_run": False, "bucket": "lake"}
    assert substitute("${batch_size}", values) == 10
    assert substitute("${dry_run}", values) is False
    assert substitute("n=${batch_size} dry=${dry_run}", values) == "n=10 dry=false"
    assert substitute("${bucket}${batch_size}", values) == "lake10"


def test_lists_and_dicts_are_walked_and_other_values_kept() -> None:
    document = {"locations": ["s3://${bucket}/a", "s3://${bucket}/b"], "version": 1, "on": True, "none": None}
    assert substitute(document, {"bucket": "lake"}) == {
        "locations": ["s3://lake/a", "s3://lake/b"],
        "version": 1,
        "on": True,
        "none": None,
    }


def test_substitution_is_one_pass() -> None:
    assert substitute("${a}", {"a": "${b}", "b": "x"}) == "${b}"


@pytest.mark.parametrize("text", ["${bucket_name}", "s3://${Bucket}/x", "${}", "${aws:username}"])
def test_any_unknown_reference_is_an_error_naming_the_place(text: str) -> None:
    name = re.escape(references(text)[0])
    with pytest.raises(ConfigError, match=rf"^hts.yaml: jobs\[0\]\.arguments\[1\]: \$\{{{name}\}} is not a declared"):
        substitute({"arguments": ["${bucket}", text]}, {"bucket": "lake"}, "hts.yaml: jobs[0]")


def test_where_may_be_a_function_of_the_keys_and_missing_may_reword_the_reason() -> None:
    with pytest.raises(ConfigError, match=r"^at \('a', 1\): no value for x$"):
        substitute({"a": ["", "${x}"]}, {}, lambda *keys: f"at {keys}", missing=lambda name: f"no value for {name}")
    with pytest.raises(ConfigError, match=r"^no value for x$"):
        substitute("${x}", {}, missing=lambda name: f"no value for {name}")


def test_a_custom_pattern_leaves_other_text_alone() -> None:
    placeholder = re.compile(r"\$\{([A-Za-z0-9:]+)\}")
    assert substitute("${AWS::Region}-${not.this}", {"AWS::Region": "eu-west-1"}, pattern=placeholder) == (
        "eu-west-1-${not.this}"
    )


def test_check_declared_names_every_unknown_and_the_declared_ones() -> None:
    check_declared(["a"], ["a", "b"], "f.yaml", "--set")
    with pytest.raises(
        ConfigError, match=r"^f.yaml: --set x=\.\.\., --set y=\.\.\.: no such parameter; declared ones: a, b$"
    ):
        check_declared(["y", "a", "x"], ["b", "a"], "f.yaml", "--set")
    with pytest.raises(ConfigError, match=r"declared ones: none$"):
        check_declared(["x"], [], "f.yaml", "--param")


def test_as_text() -> None:
    assert [as_text(True), as_text(False), as_text(3), as_text("x")] == ["true", "false", "3", "x"]


def test_read_yaml_names_the_file_and_the_line(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("name: x\nitems: [1, 2]\n", encoding="utf-8")
    assert read_yaml(good, "workflow definition") == ("name: x\nitems: [1, 2]\n", {"name": "x", "items": [1, 2]})
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\nitems: [1, 2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken\.yaml:3: not valid YAML: expected ',' or ']'"):
        read_yaml(broken, "workflow definition")
    with pytest.raises(ConfigError, match=r"missing\.yaml: cannot read the policy file: No such file"):
        read_yaml(tmp_path / "missing.yaml", "policy file")
