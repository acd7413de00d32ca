"""Policy files: TOML and JSON, every field round-trips; errors name the file and policy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import certpolicy as cp

SAMPLE = cp.PolicySet(
    [
        cp.Policy(
            'Lab "servers"',
            "override",
            hosts=["lab.corp.example", "*.lab.corp.example:8443", "bücher.example"],
            ip_ranges=["10.20.0.0/16", "2001:db8::/48", "192.0.2.1-192.0.2.9"],
            check_chain=False,
            check_hostname=False,
            check_revocation=False,
            active=False,
            order=-5,
            allow_common_name=True,
        ),
        *cp.PolicySet.defaults(fresh_install=False).policies,
    ]
)


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_round_trip(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"policies{suffix}"
    SAMPLE.to_file(path)
    assert cp.PolicySet.from_file(path) == SAMPLE


def test_toml_example_from_the_readme(tmp_path: Path) -> None:
    path = tmp_path / "policies.toml"
    path.write_text(
        """
[[policy]]
name = "Lab servers"
kind = "override"
hosts = ["lab.corp.example", "*.lab.corp.example:8443"]
ip_ranges = ["10.20.0.0/16"]
check_chain = false
check_hostname = false
check_revocation = false
order = 10

[[policy]]
name = "Internet"
kind = "internet"
"""
    )
    ps = cp.PolicySet.from_file(path)
    assert ps.select("lab.corp.example").name == "Lab servers"
    assert ps.select("example.org").name == "Internet"
    assert ps["Internet"].checks == {"chain": True, "hostname": True, "revocation": True}


def test_json_bare_list(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps([{"name": "A", "kind": "override", "hosts": ["a.example"]}]))
    assert cp.PolicySet.from_file(path).select("a.example").name == "A"


@pytest.mark.parametrize(
    ("name", "content", "error", "needle"),
    [
        ("p.yaml", "", cp.ConfigError, "end in .toml or .json"),
        ("p.toml", "[[policy]\n", cp.ConfigError, "not valid TOML"),
        ("p.json", "{", cp.ConfigError, "not valid JSON"),
        ("p.toml", 'colour = "red"', cp.ConfigError, "unknown top-level"),
        ("p.toml", '[[policy]]\nname = "x"\nkind = "nope"', cp.PolicyError, "policy #0"),
        (
            "p.toml",
            '[[policy]]\nname = "x"\nkind = "override"\nfoo = 1',
            cp.PolicyError,
            "unknown field",
        ),
        ("p.toml", '[[policy]]\nkind = "override"', cp.PolicyError, "missing field"),
        (
            "p.json",
            '{"policy": [{"name": "a", "kind": "override"}, {"name": "a", "kind": "override"}]}',
            cp.PolicyError,
            "duplicate",
        ),
    ],
)
def test_bad_files(
    tmp_path: Path, name: str, content: str, error: type[Exception], needle: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(error) as info:
        cp.PolicySet.from_file(path)
    assert needle in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(cp.ConfigError, match="cannot read"):
        cp.PolicySet.from_file(tmp_path / "none.toml")
