"""Round 32: a PROJECTX_ENV that is not quite an environment name (tests/test_round32_ops_environment.py).

`prod` with a CR left by a CRLF .env file, or `production`, made the secret reader take itself for local:
credentials from the environment, plain http:// to Vault, ~/.vault-token; and the flags reader looked up a
block of no environment, so every prod pilot scope was lost (reverse sync unlimited).
"""

from __future__ import annotations

import os

import pytest

from resources import flags
from resources.environment import current_environment
from resources.secrets import SecretStore

SECRET = "r32-env-only-credential-7d2e"


@pytest.fixture(autouse=True)
def _clean(monkeypatch):
    for var in [v for v in os.environ if v.startswith(("INTEGRATION_", "VAULT_"))]:
        monkeypatch.delenv(var)


@pytest.mark.parametrize("value", ["prod\r", " prod ", "PROD", "stg\r\n"])
def test_a_strict_environment_with_stray_whitespace_stays_strict(monkeypatch, value):
    monkeypatch.setenv("PROJECTX_ENV", value)
    monkeypatch.setenv("ONETRUST_API_TOKEN", SECRET)
    assert current_environment().name == value.strip().lower()
    with pytest.raises(PermissionError) as err:  # strict: no VAULT_ADDR is an error, not the env credential
        SecretStore("integrations/prod").vendor("onetrust")
    assert "VAULT_ADDR" in str(err.value) and SECRET not in str(err.value)


@pytest.mark.parametrize("value", ["production", "staging", "prd"])
def test_a_name_of_no_environment_fails_closed(monkeypatch, value):
    monkeypatch.setenv("PROJECTX_ENV", value)
    monkeypatch.setenv("ONETRUST_API_TOKEN", SECRET)
    with pytest.raises(ValueError) as err:
        current_environment()
    assert value in str(err.value) and "local, stg, prod" in str(err.value)
    store = SecretStore("integrations/prod")
    assert store.strict
    with pytest.raises(PermissionError):
        store.vendor("onetrust")


@pytest.mark.parametrize("value", [None, "", "  ", "local", "LOCAL\r"])
def test_local_still_reads_the_environment(monkeypatch, value):
    if value is None:
        monkeypatch.delenv("PROJECTX_ENV", raising=False)
    else:
        monkeypatch.setenv("PROJECTX_ENV", value)
    monkeypatch.setenv("ONETRUST_API_TOKEN", SECRET)
    assert current_environment().name == "local"
    assert SecretStore("integrations/dev").vendor("onetrust")["api_token"] == SECRET


def test_the_flags_of_prod_with_a_cr_are_prods(monkeypatch, tmp_path):
    path = tmp_path / "feature_flags.yml"
    path.write_text("local:\n  jira: {enabled: true}\n"
                    "prod:\n  jira: {enabled: false, pilot: {jira_project_keys: [GRC]}}\n")
    monkeypatch.setattr(flags, "FLAGS_FILE", path)
    monkeypatch.setenv("PROJECTX_ENV", "prod\r")
    jira = flags.flag("jira")
    assert jira.enabled is False and jira.pilot == {"jira_project_keys": ["GRC"]}


@pytest.mark.parametrize("value", ["prod\r", " PROD "])
def test_the_cleaned_name_is_what_every_other_reader_sees(monkeypatch, value, tmp_path):
    """Review of round 32: only Python's env_name() trimmed it; dbt (routing and health models filter on it), the
    Jira refresh-token path and the evidence library read the raw "prod\\r" (no routing row matched: no alert)."""
    from pipelines.jira import tokens

    monkeypatch.setenv("PROJECTX_ENV", value)
    monkeypatch.setenv("PROJECTX_DATA_DIR", str(tmp_path))
    assert current_environment().name == "prod"
    assert os.environ["PROJECTX_ENV"] == "prod"  # what a dbt subprocess inherits
    monkeypatch.setenv("PROJECTX_ENV", value)  # a reader called before current_environment() cleans it too
    store = tokens.default_token_store(data_dir=str(tmp_path))
    assert vars(store) and any(str(v).endswith("jira-prod.refresh_token") for v in vars(store).values()), vars(store)
