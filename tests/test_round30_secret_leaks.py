"""Round 30, outside check of "no secret value ever leaves": the real command lines (``python -m cli``,
``python -m pipelines.<vendor>``) with credentials in hand, against a loopback vendor that echoes everything it
was sent in its 401 (headers, query, body, the token base64-encoded), with and without the debug traceback.
Their stdout, stderr and every text cell of the warehouse they wrote (plans, dead letters, the audit log)
are scanned for each secret as sent and as a vendor may echo it (percent-encoded, JSON-escaped, base64)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, quote_plus

import duckdb
import pytest

from tests.reverse_sync_helpers import jira_rows, write_outbound

ROOT = Path(__file__).resolve().parents[1]


def forms(secret: str, user: str = "") -> set[str]:
    """``secret`` as a vendor or a library may show it."""
    out = {secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1],
           base64.b64encode(secret.encode()).decode().rstrip("="),
           base64.urlsafe_b64encode(secret.encode()).decode().rstrip("=")}
    if user:  # a Basic credential
        out.add(base64.b64encode(f"{user}:{secret}".encode()).decode().rstrip("="))
    return out


class _Echo(BaseHTTPRequestHandler):
    """Refuses everything (401), echoing what it was sent: a hostile or chatty gateway."""

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        auth = self.headers.get("Authorization") or ""
        token = auth.split(" ", 1)[-1]
        try:
            decoded = base64.b64decode(token).decode()
        except ValueError:
            decoded = ""
        echo = {"errorMessages": [f"Unauthorized: {auth} for {self.path} (sent {body}; decoded {decoded}; "
                                  f"raw {token})"], "error": f"invalid_client {body} {auth}",
                "error_description": f"bad credentials {decoded} {self.path}", "message": f"denied {auth}"}
        data = json.dumps(echo).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("WWW-Authenticate", f'Basic realm="{decoded.encode("latin-1", "replace").decode("latin-1")}"')
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def echo_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _run(args: list[str], env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(
        ("SERVICENOW_", "JIRA_", "ONETRUST_", "VAULT_", "PROJECTX_", "INTEGRATION_"))}
    base |= {"PROJECTX_WAREHOUSE": "duckdb", "PROJECTX_DUCKDB_PATH": str(tmp_path / "w.duckdb"),
             "PROJECTX_DATA_DIR": str(tmp_path / "data")}
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=base | env, capture_output=True, text=True,
                          timeout=240, check=False)


def _warehouse_text(path: Path) -> str:
    """Every text cell of every table the command left in the warehouse."""
    if not path.exists():
        return ""
    out = []
    with duckdb.connect(str(path), read_only=True) as con:
        for schema, table in con.execute("select table_schema, table_name from information_schema.tables").fetchall():
            out.extend(str(row) for row in con.execute(f'select * from "{schema}"."{table}"').fetchall())
    return "\n".join(out)


def _assert_clean(text: str, secrets: dict[str, str]) -> None:
    for secret, user in secrets.items():
        for form in forms(secret, user):
            assert form not in text, f"{form!r} (a form of a secret) leaked:\n{text[-3000:]}"


def _secret() -> str:
    return "s3cr/et+" + uuid.uuid4().hex[:12] + "=&x"  # characters a form, a query and base64 change


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("vendor", ["servicenow", "jira", "onetrust"])
def test_a_refused_sync_from_the_shell_leaks_no_form_of_its_credentials(echo_url, tmp_path, vendor, debug):
    """Local (the environment variables) with a user:password in the base URL too; PROJECTX_DEBUG=1 prints
    the traceback, which must carry no more than the sentence does."""
    one, two, url_pw = _secret(), _secret(), "urlpw" + uuid.uuid4().hex[:10]
    host = echo_url.replace("http://", f"http://someone:{url_pw}@")
    env = {"servicenow": {"SERVICENOW_BASE_URL": host, "SERVICENOW_OAUTH_CLIENT_ID": "client-id",
                          "SERVICENOW_OAUTH_CLIENT_SECRET": one, "SERVICENOW_USER": "integration.user",
                          "SERVICENOW_PASSWORD": two},
           "jira": {"JIRA_BASE_URL": host, "JIRA_AUTH_MODE": "pat", "JIRA_USER_EMAIL": "bot@example.com",
                    "JIRA_API_TOKEN": one},
           "onetrust": {"ONETRUST_BASE_URL": host, "ONETRUST_CLIENT_ID": "client-id",
                        "ONETRUST_CLIENT_SECRET": one, "ONETRUST_TIMEOUT_SECONDS": "5"}}[vendor]
    if debug:
        env["PROJECTX_DEBUG"] = "1"
    proc = _run(["-m", f"pipelines.{vendor}"], env, tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-2000:]
    assert ("Traceback" in proc.stderr) is debug, out[-2000:]
    _assert_clean(out + _warehouse_text(tmp_path / "w.duckdb"),
                  {one: "bot@example.com" if vendor == "jira" else "client-id", two: "integration.user",
                   url_pw: "someone"})


@pytest.mark.parametrize("debug", [False, True])
def test_a_refused_reverse_sync_with_vault_credentials_leaks_none(vault, echo_url, tmp_path, debug):
    """stg: the Jira credentials come from Vault only; the vendor echoes them in every 401. Nothing of them
    reaches the command's output, the plan, the dead letters or the audit log."""
    addr, root, client = vault
    token = _secret()
    client.secrets.kv.v2.create_or_update_secret(
        path="integrations/stg/jira", mount_point="secret",
        secret={"base_url": echo_url, "auth_mode": "pat", "user_email": "bot@example.com", "api_token": token})
    db = tmp_path / "w.duckdb"
    env = {"PROJECTX_ENV": "stg", "VAULT_ADDR": addr, "VAULT_TOKEN": root, "PROJECTX_DUCKDB_PATH": str(db)}
    if debug:
        env["PROJECTX_DEBUG"] = "1"
    settings = type("S", (), {"duckdb_path": str(db)})
    write_outbound(settings, "jira", jira_rows(2))
    proc = _run(["-m", "cli", "reverse-sync", "--vendor", "jira"], env, tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out[-3000:]
    assert "the credentials are refused" in out and "JIRA_API_TOKEN" in out, out[-3000:]
    _assert_clean(out + _warehouse_text(db), {token: "bot@example.com", root: ""})


def test_the_shell_sync_refuses_environment_credentials_in_stg_and_prod(echo_url, tmp_path):
    """`python -m pipelines.<vendor>` reads only environment variables: in prod (Vault only) it had synced
    with a client secret exported in the shell. Now it stops before any request, naming the way that reads
    Vault; locally it is the dev convenience path it always was."""
    secret = _secret()
    env = {"SERVICENOW_BASE_URL": echo_url, "SERVICENOW_OAUTH_CLIENT_ID": "client-id",
           "SERVICENOW_OAUTH_CLIENT_SECRET": secret}
    for name in ("prod", "stg"):
        proc = _run(["-m", "pipelines.servicenow"], env | {"PROJECTX_ENV": name}, tmp_path)
        assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
        assert f"PROJECTX_ENV={name} reads secrets only from Vault" in proc.stderr, proc.stderr
        assert f"integrations/{name}/servicenow" in proc.stderr and "Dagster" in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and secret not in proc.stderr
    local = _run(["-m", "pipelines.servicenow"], env | {"PROJECTX_ENV": "local"}, tmp_path)
    assert local.returncode == 1 and "The ServiceNow sync failed" in local.stderr, local.stderr[-2000:]
    assert "refused" in local.stderr.lower() or "401" in local.stderr, local.stderr[-2000:]


@pytest.mark.parametrize("char", ["\u20ac", "\u201d", "\ufffd"])  # euro, a curly quote, a decoding's replacement
def test_a_token_with_a_character_no_header_carries_is_named_not_quoted(echo_url, tmp_path, char):
    """A Bearer token with a pasted non-Latin-1 character: the sentence was Python's own ("'latin-1' codec
    can't encode character '\\u20ac' in position 10"), quoting a character of the secret and where it
    stands. It now names the settings to look at."""
    token = "tok-" + uuid.uuid4().hex[:6] + char + uuid.uuid4().hex[:6]
    proc = _run(["-m", "pipelines.jira"], {"JIRA_BASE_URL": echo_url, "JIRA_AUTH_MODE": "pat", "JIRA_PAT": token},
                tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    line = proc.stderr.strip().splitlines()[-1]
    assert "character headers cannot carry" in line and "JIRA_" in line, line
    assert "position" not in line and repr(char)[1:-1] not in line and char not in line, line
    _assert_clean(proc.stdout + proc.stderr, {token: ""})


def test_the_shell_reverse_sync_names_such_a_token_too(echo_url, tmp_path):
    token = "tok-" + uuid.uuid4().hex[:6] + "\u201c" + uuid.uuid4().hex[:6]
    db = tmp_path / "w.duckdb"
    write_outbound(type("S", (), {"duckdb_path": str(db)}), "jira", jira_rows(1))
    proc = _run(["-m", "cli", "reverse-sync", "--vendor", "jira"],
                {"JIRA_BASE_URL": echo_url, "JIRA_AUTH_MODE": "pat", "JIRA_PAT": token,
                 "PROJECTX_DUCKDB_PATH": str(db)}, tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert "character headers cannot carry" in proc.stderr and "position" not in proc.stderr, proc.stderr
    _assert_clean(proc.stdout + proc.stderr + _warehouse_text(db), {token: ""})
