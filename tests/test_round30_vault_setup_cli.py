"""Round 30: `python -m cli vault setup` with an operator token in hand, against a real OpenBao: a refused
token, a VAULT_ADDR with a user:password in it, a token with a pasted line break (also with PROJECTX_DEBUG=1,
whose traceback quoted requests' text: the token itself), Vault sealed. One sentence naming the fix; no form
of the token or the URL's password in the output."""

from __future__ import annotations

import pytest

from tests.conftest import openbao_dev_server
from tests.test_round30_secret_leaks import _assert_clean, _run


@pytest.fixture(scope="module")
def bao():
    with openbao_dev_server() as (addr, root, client, _proc):
        yield addr, root, client


def _setup(tmp_path, env):
    return _run(["-m", "cli", "vault", "setup", "--env", "stg", "--out", str(tmp_path / "roles.env")], env, tmp_path)


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("case", ["refused token", "password in the address", "line break in the token"])
def test_vault_setup_failures_name_the_fix_and_leak_nothing(bao, tmp_path, case, debug):
    addr, root, _ = bao
    port = addr.rsplit(":", 1)[1]
    url_pw = "pw-" + root[:10]
    env, hint = {
        "refused token": ({"VAULT_ADDR": addr, "VAULT_TOKEN": "hvs.x" + root[1:]}, "VAULT_TOKEN was refused"),
        "password in the address": ({"VAULT_ADDR": f"http://admin:{url_pw}@127.0.0.1:{port}",
                                     "VAULT_TOKEN": "hvs.x" + root[1:]}, "VAULT_TOKEN was refused"),
        "line break in the token": ({"VAULT_ADDR": addr, "VAULT_TOKEN": root + "\nhvs.second-line"},
                                    "VAULT_TOKEN holds a line break"),
    }[case]
    if debug:
        env["PROJECTX_DEBUG"] = "1"
    proc = _setup(tmp_path, env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out[-3000:]
    assert ("Traceback" in out) is debug, out[-3000:]
    if not debug:
        assert len(proc.stderr.strip().splitlines()) == 1 and hint in proc.stderr, proc.stderr
    assert not (tmp_path / "roles.env").exists()
    _assert_clean(out, {root: "", "hvs.x" + root[1:]: "", url_pw: "admin", root + "\nhvs.second-line": ""})


def test_vault_setup_against_a_sealed_vault_says_unseal(tmp_path):
    with openbao_dev_server() as (addr, root, client, _):
        client.sys.seal()
        proc = _setup(tmp_path, {"VAULT_ADDR": addr, "VAULT_TOKEN": root})
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert "bao operator unseal" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    _assert_clean(proc.stdout + proc.stderr, {root: ""})
