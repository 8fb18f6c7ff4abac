"""Round 30, outside check of Vault trouble met by the real command line in stg (secrets only from Vault):
`python -m cli reverse-sync --vendor jira` with the Jira path's keys misnamed, its latest version deleted or
destroyed, an expired or mistyped VAULT_TOKEN, Vault sealed, Vault stopped. Each ends in one sentence naming
the fix (no traceback), with no secret in the output and no vendor write."""

from __future__ import annotations

import time
import uuid

import pytest

from tests.conftest import openbao_dev_server
from tests.reverse_sync_helpers import jira_rows, write_outbound
from tests.test_round30_secret_leaks import _assert_clean, _run

TOKEN = "tok-" + uuid.uuid4().hex
GOOD = {"base_url": "http://127.0.0.1:9", "auth_mode": "pat", "user_email": "bot@example.com", "api_token": TOKEN}
PATH = "integrations/stg/jira"


def _put(client, data: dict) -> None:
    client.secrets.kv.v2.create_or_update_secret(path=PATH, mount_point="secret", secret=data)


def _misnamed(client, root, proc):
    _put(client, {"baseUrl": GOOD["base_url"], "auth_mode": "pat", "email": "bot@example.com", "apiToken": TOKEN})
    return root


def _deleted(client, root, proc):
    _put(client, GOOD)
    client.secrets.kv.v2.delete_latest_version_of_secret(path=PATH, mount_point="secret")
    return root


def _destroyed(client, root, proc):
    _put(client, GOOD)
    version = client.secrets.kv.v2.read_secret_metadata(path=PATH, mount_point="secret")["data"]["current_version"]
    client.secrets.kv.v2.destroy_secret_versions(path=PATH, versions=[version], mount_point="secret")
    return root


def _expired(client, root, proc):
    _put(client, GOOD)
    token = client.auth.token.create(policies=["default"], ttl="1s", renewable=False)["auth"]["client_token"]
    time.sleep(2.5)
    return token


def _mistyped(client, root, proc):
    _put(client, GOOD)
    return root[:-1] + ("0" if root[-1] != "0" else "1")


def _sealed(client, root, proc):
    _put(client, GOOD)
    client.sys.seal()
    return root


def _stopped(client, root, proc):
    _put(client, GOOD)
    proc.terminate()
    proc.wait(timeout=10)
    return root


CASES = {  # how Vault is wrong -> words the last line must hold
    "misnamed keys": (_misnamed, ["JIRA_BASE_URL is not set"],
                      "has keys no jira setting reads: apiToken, baseUrl, email"),
    "deleted latest version": (_deleted, ["was deleted", "vault kv undelete -versions=1 secret/integrations/stg/jira"],
                               ""),
    "destroyed latest version": (_destroyed, ["was destroyed", "write the secret again"], ""),
    "expired token": (_expired, ["expired, revoked or mistyped", "bao login"], ""),
    "mistyped token": (_mistyped, ["expired, revoked or mistyped", "VAULT_JIRA_ROLE_ID"], ""),
    "sealed": (_sealed, ["sealed", "bao operator unseal"], ""),
    "stopped": (_stopped, ["unreachable", "start it, or point VAULT_ADDR at it"], ""),
}


@pytest.mark.parametrize("case", list(CASES))
def test_vault_trouble_ends_in_one_sentence_naming_the_fix(case, tmp_path):
    make, words, warning = CASES[case]
    with openbao_dev_server() as (addr, root, client, proc):
        token = make(client, root, proc)
        db = tmp_path / "w.duckdb"
        write_outbound(type("S", (), {"duckdb_path": str(db)}), "jira", jira_rows(1))
        run = _run(["-m", "cli", "reverse-sync", "--vendor", "jira"],
                   {"PROJECTX_ENV": "stg", "VAULT_ADDR": addr, "VAULT_TOKEN": token, "PROJECTX_DUCKDB_PATH": str(db)},
                   tmp_path)
    out = run.stdout + run.stderr
    assert run.returncode in (1, 2) and "Traceback" not in out, out[-3000:]
    last = run.stderr.strip().splitlines()[-1]
    for word in words:
        assert word in last, last
    assert "unset VAULT_ADDR" not in out  # stg: the environment is no way out
    assert "check that the service at the configured address" not in last  # the sentence names Vault's fix
    if warning:
        assert warning in run.stderr, run.stderr[-3000:]
    assert "reverse sync done" not in run.stdout  # nothing pushed
    _assert_clean(out, {TOKEN: "bot@example.com", root: "", token: ""})


def test_stg_names_the_vault_key_an_ignored_environment_secret_belongs_in(tmp_path):
    """stg with JIRA_API_TOKEN exported and Vault without api_token: the variable is ignored (Vault only), and
    the warning says which Vault key to write; the value appears nowhere."""
    with openbao_dev_server() as (addr, root, client, _):
        _put(client, {k: v for k, v in GOOD.items() if k != "api_token"})
        db = tmp_path / "w.duckdb"
        write_outbound(type("S", (), {"duckdb_path": str(db)}), "jira", jira_rows(1))
        run = _run(["-m", "cli", "reverse-sync", "--vendor", "jira"],
                   {"PROJECTX_ENV": "stg", "VAULT_ADDR": addr, "VAULT_TOKEN": root, "PROJECTX_DUCKDB_PATH": str(db),
                    "JIRA_API_TOKEN": TOKEN}, tmp_path)
    out = run.stdout + run.stderr
    assert run.returncode == 2 and "Traceback" not in out, out[-3000:]
    assert ("JIRA_API_TOKEN is set in the environment, ignored: PROJECTX_ENV=stg reads secrets only from Vault "
            "(secret/integrations/stg/jira), which has no api_token (for JIRA_API_TOKEN): write it there") in out, out
    _assert_clean(out, {TOKEN: "bot@example.com", root: ""})
