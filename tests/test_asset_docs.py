"""The asset graph explains itself: every asset has an owner (resources/owners.yaml), every check has a
description, and every dbt data test has dbt's `description:`. Generic on purpose: a model, test or
asset added later must comply too."""

from __future__ import annotations

import json
import subprocess

import pytest

from assets.dbt import DBT_PROJECT_DIR, dbt_executable
from resources.owners import owners_for, owners_mapping


@pytest.fixture(scope="module")
def defs():
    import definitions

    return definitions.build_definitions()


def test_every_asset_has_an_owner(defs):
    graph = defs.resolve_asset_graph()
    ownerless = sorted(k.to_user_string() for k in graph.get_all_asset_keys() if not graph.get(k).owners)
    assert not ownerless, f"assets without owners (add their group to resources/owners.yaml): {ownerless}"
    groups = {graph.get(k).group_name for k in graph.get_all_asset_keys()}
    for group in groups:
        key = next(k for k in graph.get_all_asset_keys() if graph.get(k).group_name == group)
        assert list(graph.get(key).owners) == owners_for(group), group


def test_owners_file_lists_known_groups_and_valid_owners(defs):
    graph = defs.resolve_asset_graph()
    groups = {graph.get(k).group_name for k in graph.get_all_asset_keys()}
    unknown = set(owners_mapping()) - groups - {"default"}
    assert not unknown, f"resources/owners.yaml names groups no asset has: {sorted(unknown)}"


def test_every_asset_check_has_a_description(defs):
    graph = defs.resolve_asset_graph()
    missing = sorted(f"{k.asset_key.to_user_string()}:{k.name}" for k in graph.asset_check_keys
                     if not (graph.get_check_spec(k).description or "").strip())
    assert not missing, (f"{len(missing)} checks show 'No description provided' in the UI; give each dbt test "
                         f"a `description:` in its YAML (or the check a description): {missing[:10]}")


def test_every_dbt_data_test_has_a_description(tmp_path):
    """Parses the project as it is now, so tests other branches add must carry a description too."""
    result = subprocess.run([dbt_executable(), "parse", "--quiet", "--project-dir", str(DBT_PROJECT_DIR),
                             "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(tmp_path)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    nodes = json.loads((tmp_path / "manifest.json").read_text())["nodes"]
    tests = [n for n in nodes.values() if n["resource_type"] == "test"]
    assert tests
    missing = sorted(n["name"] for n in tests if len((n.get("description") or "").strip()) < 20)
    assert not missing, (f"{len(missing)} dbt data tests lack a `description:` saying what failed and why it "
                         f"matters: {missing[:10]}")
