"""Round 30, outside check of the feature flags: a malformed flags file, per-environment overrides, a flag
off really writing nothing (the shell's reverse sync too), and the rule for a flag flipped while a push runs."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from resources import flags
from tests.reverse_sync_helpers import jira_rows, write_outbound, writes

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def flag_file(monkeypatch, tmp_path):
    """Point the flags at a file of the test's own text (the shipped one is left alone)."""
    monkeypatch.delenv("VAULT_ADDR", raising=False)
    for var in [v for v in os.environ if v.startswith("INTEGRATION_")]:
        monkeypatch.delenv(var)

    def write(text: str) -> Path:
        path = tmp_path / "feature_flags.yml"
        path.write_text(text)
        monkeypatch.setattr(flags, "FLAGS_FILE", path)
        return path

    return write


@pytest.mark.parametrize(("text", "expected"), [
    ("prod:\n  jira: {enabled: false}\n", False),
    ("prod:\n  jira: {enabled: off}\n", False),
    ('prod:\n  jira: {enabled: "false"}\n', False),  # quoted: a string, once read as bool("false") == True
    ("prod:\n  jira: {enabled: 'FALSE '}\n", False),
    ("prod:\n  jira: {enabled: 0}\n", False),
    ("prod:\n  jira: {enabled: true}\n", True),
    ('prod:\n  jira: {enabled: "yes"}\n', True),
    ("prod:\n  jira: {pilot: {jira_project_keys: [GRC]}}\n", True),  # no `enabled`: on
    ("prod:\n  onetrust: {enabled: false}\n", True),  # no block for jira: on
    ("stg:\n  jira: {enabled: false}\n", True),  # another environment's block
])
def test_the_file_value_is_read_as_every_other_source_reads_it(flag_file, text, expected):
    flag_file(text)
    got = flags.flag("jira", "prod")
    assert got.enabled is expected and got.source == "feature_flags.yml"


@pytest.mark.parametrize(("text", "words"), [
    ("prod:\n  jira: {enabled: maybe}\n", ["prod.jira.enabled", "'maybe'", "true or false"]),
    ("prod:\n  jira: {enabled: }\n", ["prod.jira.enabled", "true or false"]),  # null: a value left out
    ("prod:\n  jira: false\n", ["prod.jira", "enabled: false"]),  # the switch written as the block
    ("prod:\n  - jira\n", ["prod", "integration"]),
    ("- prod\n", ["environment"]),
    ("prod:\n  jira: {enabled: true\n", ["YAML", "line"]),  # a brace left open
])
def test_a_malformed_flags_file_is_one_sentence_naming_the_file_and_the_fix(flag_file, text, words):
    path = flag_file(text)
    with pytest.raises(ValueError) as info:
        flags.flag("jira", "prod")
    message = str(info.value)
    assert str(path) in message and "\n" not in message, message
    for word in words:
        assert word in message, message


def test_a_long_wrong_value_in_the_file_is_named_by_its_length(flag_file):
    secret = "sk-" + uuid.uuid4().hex  # a credential pasted into the wrong file
    flag_file(f"prod:\n  jira: {{enabled: {secret}}}\n")
    with pytest.raises(ValueError) as info:
        flags.flag("jira", "prod")
    assert secret not in str(info.value) and f"{len(secret)} characters" in str(info.value)


def test_the_shipped_flags_file_reads_in_every_environment():
    from resources.environment import ENVIRONMENTS

    for env in ENVIRONMENTS:
        for name in ("servicenow", "jira", "onetrust"):
            assert flags.flag(name, env, vault={}).enabled


def test_a_vault_override_holds_for_its_own_environment_only(vault, monkeypatch):
    """integrations/stg/flags pauses Jira in stg; prod, whose Vault path has no flag, keeps the file's value."""
    addr, root, client = vault
    monkeypatch.setenv("VAULT_ADDR", addr)
    monkeypatch.setenv("VAULT_TOKEN", root)
    monkeypatch.delenv("INTEGRATION_JIRA_ENABLED", raising=False)
    monkeypatch.setattr(flags, "VAULT_CACHE_SECONDS", 0.0)
    client.secrets.kv.v2.create_or_update_secret(path="integrations/stg/flags", mount_point="secret",
                                                 secret={"integration.jira.enabled": "false"})
    try:
        assert not flags.enabled("jira", "stg") and flags.flag("jira", "stg").source == "Vault"
        assert flags.enabled("jira", "prod") and flags.flag("jira", "prod").source == "feature_flags.yml"
        monkeypatch.setenv("PROJECTX_ENV", "stg")
        assert not flags.enabled("jira")  # the environment the process runs in
        monkeypatch.setenv("PROJECTX_ENV", "prod")
        assert flags.enabled("jira")
    finally:
        client.secrets.kv.v2.delete_metadata_and_all_versions(path="integrations/stg/flags", mount_point="secret")


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("INTEGRATION_", "VAULT_", "PROJECTX_DEBUG"))}
    return subprocess.run([sys.executable, "-m", "cli", *args], cwd=ROOT, env=base | env, capture_output=True,
                          text=True, timeout=180, check=False)


def test_the_shell_reverse_sync_writes_nothing_while_the_flag_is_off(make_jira_sandbox, duckdb_warehouse):
    """`cli schedules` says a flag pauses an integration's reverse writes everywhere; the shell's push wrote."""
    sb = make_jira_sandbox(size=50)
    write_outbound(duckdb_warehouse, "jira", jira_rows(3))
    env = {"JIRA_BASE_URL": sb.url, "JIRA_AUTH_MODE": "pat", "JIRA_USER_EMAIL": sb.credentials["email"],
           "JIRA_API_TOKEN": sb.credentials["api_token"], "INTEGRATION_JIRA_ENABLED": "false"}
    before = len(writes(sb))
    off = _cli(env, "reverse-sync", "--vendor", "jira")
    assert off.returncode == 2 and "Traceback" not in off.stderr, off.stdout + off.stderr
    assert "integration.jira.enabled is false in INTEGRATION_JIRA_ENABLED" in off.stderr, off.stderr
    assert len(writes(sb)) == before  # no vendor write
    plan = _cli(env, "reverse-sync", "--vendor", "jira", "--dry-run")  # a plan writes nothing: allowed
    assert plan.returncode == 0 and "planned: create 3" in plan.stdout, plan.stdout + plan.stderr
    assert "integration.jira.enabled is false" in plan.stderr and len(writes(sb)) == before
    on = _cli(env | {"INTEGRATION_JIRA_ENABLED": "true"}, "reverse-sync", "--vendor", "jira")
    assert on.returncode == 0, on.stdout + on.stderr
    assert len(writes(sb)) > before


def test_a_flag_turned_off_while_a_push_runs_takes_effect_at_the_next_run(make_jira_sandbox, duckdb_warehouse,
                                                                          monkeypatch):
    """The rule: a push reads its flag once, at its start (as the asset's pause does). Turned off while the push
    runs, the push finishes what it planned (no record left half-written between create and transition); the
    next push does nothing. To stop a push at once, cancel its run."""
    from cli.reverse_sync import run_reverse_sync
    from tests.conftest import jira_env

    sb = make_jira_sandbox(size=50)
    jira_env(monkeypatch, sb)
    monkeypatch.delenv("VAULT_ADDR", raising=False)
    monkeypatch.setenv("PROJECTX_PUSH_CONCURRENCY", "1")
    monkeypatch.setenv("INTEGRATION_JIRA_ENABLED", "true")
    write_outbound(duckdb_warehouse, "jira", jira_rows(4))

    def turn_off_at_the_first_create(request, response):
        if request.method == "POST" and request.path.rstrip("/").endswith("/rest/api/3/issue"):
            os.environ["INTEGRATION_JIRA_ENABLED"] = "false"  # an operator's switch, mid-push
        return response

    sb.rewrite_responses(turn_off_at_the_first_create)
    assert run_reverse_sync("jira", run_id="r30-flip-a") == 0
    assert os.environ["INTEGRATION_JIRA_ENABLED"] == "false"  # it was turned off during the push
    created = [w for w in writes(sb) if w["method"] == "POST" and w["path"].rstrip("/").endswith("/issue")]
    assert len(created) == 4  # ... which finished its plan
    write_outbound(duckdb_warehouse, "jira", jira_rows(6))  # two more records wait
    before = len(writes(sb))
    assert run_reverse_sync("jira", run_id="r30-flip-b") == 2  # the next push: paused, nothing written
    assert len(writes(sb)) == before
