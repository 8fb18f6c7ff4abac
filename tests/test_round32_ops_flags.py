"""Round 32: a flags file or pilot override that says something nothing reads (tests/test_round32_ops_flags.py).

Before, each of these was read as "no such setting": `enabld: false` left Jira on, a misspelt pilot scope (or
pilot variable) let reverse sync push every team's rows, a scope written as one word was split into letters,
a second `jira:` block silently won over the first, and an unreadable file raised a bare Python error.
"""

from __future__ import annotations

import os
import uuid

import pytest

from resources import flags


@pytest.fixture
def flag_file(monkeypatch, tmp_path):
    monkeypatch.delenv("VAULT_ADDR", raising=False)
    for var in [v for v in os.environ if v.startswith("INTEGRATION_")]:
        monkeypatch.delenv(var)

    def write(text: str | bytes):
        path = tmp_path / "feature_flags.yml"
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text)
        monkeypatch.setattr(flags, "FLAGS_FILE", path)
        return path

    return write


@pytest.mark.parametrize(("text", "words"), [
    ("prod:\n  jira: {enabld: false}\n", ["prod.jira", "enabld", "enabled"]),
    ("prod:\n  jira: {enabled: false, paused: true}\n", ["prod.jira", "paused"]),
    ("prod:\n  jira: {pilot: {jira_projects: [GRC]}}\n", ["prod.jira.pilot.jira_projects", "jira_project_keys"]),
    ("prod:\n  jira: {pilot: {jira_project_keys: GRC}}\n", ["prod.jira.pilot.jira_project_keys", "[A, B]"]),
    ("prod:\n  jira: {pilot: [GRC]}\n", ["prod.jira.pilot", "jira_project_keys"]),
    ("prod:\n  jira: {pilot: {jira_project_keys: [{a: 1}]}}\n", ["prod.jira.pilot.jira_project_keys"]),
    ("prod:\n  jira: {enabled: false}\n  jira: {enabled: true}\n", ["twice", "jira", "line 3"]),
    ("prod:\n  jira: {enabled: false}\nprod:\n  jira: {enabled: true}\n", ["twice", "prod"]),
    ("prod:\n  jiraa: {enabled: false}\n  jira: {enabled: true}\n", ["prod.jiraa", "servicenow, jira, onetrust"]),
    (b"\xff\xfeprod:\n", ["UTF-8"]),
])
def test_a_flags_file_saying_what_nothing_reads_is_refused_naming_file_and_fix(flag_file, text, words):
    path = flag_file(text)
    with pytest.raises(ValueError) as info:
        flags.flag("jira", "prod")
    message = str(info.value)
    assert str(path) in message and "\n" not in message, message
    for word in words:
        assert word in message, message


def test_a_missing_flags_file_is_named(flag_file, monkeypatch, tmp_path):
    monkeypatch.setattr(flags, "FLAGS_FILE", tmp_path / "gone.yml")
    with pytest.raises(ValueError) as info:
        flags.flag("jira", "prod")
    assert "gone.yml" in str(info.value) and "cannot be read" in str(info.value)


def test_a_long_unknown_key_is_named_by_its_length(flag_file):
    pasted = "sk-" + uuid.uuid4().hex + uuid.uuid4().hex
    flag_file(f"prod:\n  jira: {{{pasted}: false}}\n")
    with pytest.raises(ValueError) as info:
        flags.flag("jira", "prod")
    assert pasted not in str(info.value) and f"{len(pasted)} characters" in str(info.value)


def test_a_well_formed_pilot_scope_still_holds_rows_back(flag_file):
    flag_file("prod:\n  jira: {enabled: true, pilot: {jira_project_keys: [GRC, 42]}}\n"
              "  servicenow: {pilot: {assignment_groups: []}}\n")
    jira = flags.flag("jira", "prod")
    assert jira.pilot == {"jira_project_keys": ["GRC", "42"]}
    assert jira.out_of_scope({"jira_project_key": "GRC"}) is None
    assert "OTHER" in jira.out_of_scope({"jira_project_key": "OTHER"})
    assert flags.flag("servicenow", "prod").pilot == {}  # [] is everyone


def test_a_pilot_variable_of_no_scope_stops_the_reader(flag_file, monkeypatch):
    flag_file("prod:\n  jira: {enabled: true, pilot: {jira_project_keys: [GRC]}}\n")
    monkeypatch.setenv("INTEGRATION_JIRA_PILOT_PROJECTS", "GRC,OPS")
    with pytest.raises(ValueError) as info:
        flags.flag("jira", "prod")
    message = str(info.value)
    assert "INTEGRATION_JIRA_PILOT_PROJECTS" in message and "INTEGRATION_JIRA_PILOT_JIRA_PROJECT_KEYS" in message
    assert flags.flag("servicenow", "prod").enabled  # another integration's reader is not stopped
    monkeypatch.setenv("INTEGRATION_JIRA_PILOT_PROJECTS", "")  # set empty: nothing meant
    assert flags.flag("jira", "prod").pilot == {"jira_project_keys": ["GRC"]}


def test_the_shipped_file_still_reads(monkeypatch):
    for var in [v for v in os.environ if v.startswith("INTEGRATION_")]:
        monkeypatch.delenv(var)
    monkeypatch.delenv("VAULT_ADDR", raising=False)
    for env in ("local", "stg", "prod"):
        for name in flags.INTEGRATIONS:
            assert flags.flag(name, env).enabled


def test_a_vault_pilot_scope_written_as_a_json_list_is_read(vault, flag_file, monkeypatch):
    """Before, a list value made the whole flags path unreadable (a warning), so `enabled: false` beside it was
    ignored and Jira stayed on, with no pilot scope."""
    addr, token, client = vault
    flag_file("local:\n  jira: {enabled: true}\n")
    client.secrets.kv.v2.create_or_update_secret(path="integrations/dev/flags", secret={
        "integration.jira.enabled": "false", "integration.servicenow.enabled": True,
        "integration.jira.pilot.jira_project_keys": ["GRC", "OPS"]})
    monkeypatch.setenv("VAULT_ADDR", addr)
    monkeypatch.setenv("VAULT_TOKEN", token)
    monkeypatch.setenv("PROJECTX_ENV", "local")
    monkeypatch.setattr(flags, "_VAULT_CACHE", {})
    jira = flags.flag("jira", "local")
    assert (jira.enabled, jira.source) == (False, "Vault")
    assert jira.pilot == {"jira_project_keys": ["GRC", "OPS"]}


def test_a_flag_switched_off_in_vault_stays_off_while_vault_is_down(flag_file, monkeypatch, caplog):
    """Before, the first failed read after the 30-s cache put the file's `true` back: a kill switch turned off
    in Vault came back on at a Vault restart, and the schedules synced again."""
    from tests.conftest import openbao_dev_server

    flag_file("local:\n  jira: {enabled: true}\n")
    monkeypatch.setenv("PROJECTX_ENV", "local")
    monkeypatch.setenv("VAULT_TIMEOUT_SECONDS", "2")
    monkeypatch.setattr(flags, "_VAULT_CACHE", {})
    monkeypatch.setattr(flags, "_LAST_READ", {})
    with openbao_dev_server() as (addr, token, client, proc):
        client.secrets.kv.v2.create_or_update_secret(path="integrations/dev/flags",
                                                     secret={"integration.jira.enabled": "false"})
        monkeypatch.setenv("VAULT_ADDR", addr)
        monkeypatch.setenv("VAULT_TOKEN", token)
        assert flags.flag("jira", "local").enabled is False
        proc.terminate()
        proc.wait(timeout=10)
        flags._VAULT_CACHE.clear()  # the 30-s cache ran out
        jira = flags.flag("jira", "local")
        assert (jira.enabled, jira.source) == (False, "Vault")
        assert "using the flags read there" in caplog.text and token not in caplog.text
        flags._LAST_READ.clear()  # a process that never read Vault: the file's value, with a warning
        flags._VAULT_CACHE.clear()
        assert flags.flag("jira", "local").enabled is True
        # ... but a reverse-sync step (a fresh run process) waits instead of pushing on the file's `true`, also
        # within the 30-s cache (review of round 32)
        for _ in range(2):
            with pytest.raises(RuntimeError) as err:
                flags.flag("jira", "local", for_writes=True)
            assert "integrations/dev/flags" in str(err.value) and token not in str(err.value)
        from assets.reverse_sync.assetkit import paused_by_flag

        with pytest.raises(RuntimeError):
            paused_by_flag(None, "jira")


def test_a_yaml_merge_key_is_no_duplicate_and_its_override_holds(flag_file):
    """Review of round 32: the duplicate-key check read `<<: *base` as a key with no constructor, so a flags file
    sharing a base block (as dbt_project's YAML does) was refused as "not valid YAML" and every flag() raised."""
    flag_file("base: &base {servicenow: {enabled: true}, jira: {enabled: true}}\n"
              "prod: {<<: *base, jira: {enabled: false}}\n")
    assert flags.flag("servicenow", "prod").enabled is True
    assert flags.flag("jira", "prod").enabled is False
    flag_file("base: &base {jira: {enabled: true}}\nprod:\n  <<: *base\n  jira: {enabled: false}\n  jira: {}\n")
    with pytest.raises(ValueError, match="twice"):  # a key the block itself writes twice is still refused
        flags.flag("jira", "prod")
