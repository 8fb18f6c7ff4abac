"""Round 28: secrets, continued. Every credential a worker reads in prod must be reachable with the
AppRoles ``python -m cli vault setup`` installs: the e-mail sender reads ``integrations/<env>/smtp``
(README, resources/email.py), so its policy and AppRole must be that path's."""

from __future__ import annotations

import uuid

import pytest

from resources import vault_auth, vault_setup


@pytest.fixture
def prod(monkeypatch):
    import os

    for name in [n for n in os.environ if n.startswith(("VAULT_", "SMTP_"))]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PROJECTX_ENV", "prod")
    vault_auth._SESSIONS.clear()
    yield monkeypatch
    vault_auth._SESSIONS.clear()


def test_the_smtp_credentials_are_readable_with_the_installed_approles(vault, prod, tmp_path):
    """An operator runs ``cli vault setup`` and hands its roles file to the workers; the SMTP password
    put at the README's path is then read, in prod, by the e-mail sender (it was denied: the installed
    policy was for ``integrations/<env>/email`` and no AppRole matched the sender's ``smtp`` path)."""
    from cli.vault import setup
    from resources.email import sender_from_env

    addr, root, client = vault
    env = f"r{uuid.uuid4().hex[:8]}"
    password = f"smtp-{uuid.uuid4().hex}"
    client.secrets.kv.v2.create_or_update_secret(path=f"integrations/{env}/smtp", mount_point="secret", secret={
        "host": "smtp.example", "port": "587", "username": "projectx", "password": password})
    prod.setenv("VAULT_ADDR", addr)
    prod.setenv("VAULT_TOKEN", root)
    out = tmp_path / "roles.env"
    assert setup(env, str(out)) == 0
    prod.delenv("VAULT_TOKEN")  # the workers have only the roles file
    for line in out.read_text().splitlines():
        name, value = line.split("=", 1)
        prod.setenv(name, value)
    sender = sender_from_env(f"integrations/{env}")
    assert sender is not None and sender.username == "projectx" and sender.password == password
    # and that role reads nothing else: a vendor's path is still denied
    client.secrets.kv.v2.create_or_update_secret(path=f"integrations/{env}/servicenow", mount_point="secret",
                                                 secret={"client_secret": "not-for-smtp"})
    creds = vault_auth.approle_credentials("smtp")
    assert creds is not None
    import hvac
    import hvac.exceptions

    c = hvac.Client(url=addr)
    c.auth.approle.login(role_id=creds[0], secret_id=creds[1])
    with pytest.raises(hvac.exceptions.Forbidden):
        c.secrets.kv.v2.read_secret_version(path=f"integrations/{env}/servicenow", mount_point="secret",
                                            raise_on_deleted_version=True)


def test_every_vault_path_the_code_reads_has_a_policy_of_that_name():
    """A connector reads ``<prefix>/<name>`` with the ``<name>`` AppRole: each such name needs its policy."""
    from resources.secrets import ENV_NAMES

    assert set(ENV_NAMES) <= set(vault_setup.connectors()), set(ENV_NAMES) - set(vault_setup.connectors())


def test_prod_never_reads_with_a_token_left_in_the_home_directory(vault, prod, tmp_path):
    """No AppRole and no VAULT_TOKEN for a connector in prod: hvac took ~/.vault-token (an operator's
    ``vault login``, here the root token) and read the connector's secrets with it, past least privilege.
    Now the error names the variables to set; locally the token file still works."""
    from resources.secrets import SecretStore

    addr, root, client = vault
    env = f"r{uuid.uuid4().hex[:8]}"
    client.secrets.kv.v2.create_or_update_secret(path=f"integrations/{env}/onetrust", mount_point="secret",
                                                 secret={"api_token": "ot-HOMEVAL"})
    (tmp_path / ".vault-token").write_text(root)
    prod.setenv("HOME", str(tmp_path))
    prod.setenv("VAULT_ADDR", addr)
    with pytest.raises(PermissionError) as caught:
        SecretStore(f"integrations/{env}").vendor("onetrust")
    text = str(caught.value)
    assert "VAULT_ONETRUST_ROLE_ID" in text and "VAULT_ROLE_ID" in text and root not in text, text
    prod.setenv("PROJECTX_ENV", "local")
    assert SecretStore(f"integrations/{env}").vendor("onetrust")["api_token"] == "ot-HOMEVAL"


def test_a_vault_kill_switch_works_with_the_installed_approles(vault, prod, tmp_path):
    """``integration.jira.enabled=false`` at integrations/<env>/flags turns Jira off in prod. Every AppRole
    ``cli vault setup`` installs carries the read-only flags policy, but the flags were read only with a
    VAULT_FLAGS_* or VAULT_* role, which setup does not write: the switch was ignored (file default)."""
    from cli.vault import setup
    from resources import flags

    addr, root, client = vault
    env = f"r{uuid.uuid4().hex[:8]}"
    client.secrets.kv.v2.create_or_update_secret(path=f"integrations/{env}/flags", mount_point="secret",
                                                 secret={"integration.jira.enabled": "false"})
    prod.setenv("VAULT_ADDR", addr)
    prod.setenv("VAULT_TOKEN", root)
    out = tmp_path / "roles.env"
    assert setup(env, str(out)) == 0
    prod.delenv("VAULT_TOKEN")
    prod.setenv("HOME", str(tmp_path))  # no ~/.vault-token to fall back on
    for line in out.read_text().splitlines():
        name, value = line.split("=", 1)
        if name.startswith(("VAULT_JIRA_", "VAULT_SERVICENOW_")):  # a worker with two connectors' roles
            prod.setenv(name, value)
    flags._VAULT_CACHE.clear()
    try:
        f = flags.flag("jira", env)
        assert not f.enabled and f.source == "Vault", f
    finally:
        flags._VAULT_CACHE.clear()


def test_botocore_debug_lines_carry_no_sts_credentials(monkeypatch, caplog):
    """At DEBUG botocore logs STS's AssumeRole answer (SecretAccessKey, SessionToken), each request's
    headers (X-Amz-Security-Token) and the string it signs. The S3 evidence store's assumed-role session
    lists and puts an object against the AWS emulator with DEBUG on: none of the role's secret key or
    token reaches a log line, and the lines are still there (the request was logged)."""
    import json
    import logging

    import boto3

    import resources.evidence  # noqa: F401 (the store's package: installs the log filter, as a worker does)
    from resources.evidence.s3_auth import RoleCredentials, RoleSettings
    from sandbox.aws import MotoAwsServer

    server = MotoAwsServer()
    server.start()
    try:
        for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                            "AWS_ENDPOINT_URL_STS": server.url, "AWS_ENDPOINT_URL_S3": server.url}.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
        trust = json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]})
        arn = boto3.client("iam", endpoint_url=server.url, region_name="us-east-1").create_role(
            RoleName=f"r28-{uuid.uuid4().hex[:6]}", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
        caplog.set_level(logging.DEBUG)
        role = RoleCredentials(RoleSettings(role_arn=arn, external_id=None))
        session = role.session()
        s3 = session.client("s3")
        s3.create_bucket(Bucket="r28-evidence")
        s3.put_object(Bucket="r28-evidence", Key="a.txt", Body=b"x")
        url = s3.generate_presigned_url("get_object", Params={"Bucket": "r28-evidence", "Key": "a.txt"})
        import requests

        assert requests.get(url, timeout=10).content == b"x"  # urllib3 logs the presigned URL it fetched
        frozen = session.get_credentials().get_frozen_credentials()
        from urllib.parse import parse_qs, urlsplit

        query = {k.lower(): v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        signature = query.get("x-amz-signature") or query["signature"]
    finally:
        server.stop()
    assert "AssumeRole" in caplog.text and "x-amz-security-token" in caplog.text.lower()  # lines were logged
    assert "r28-evidence" in caplog.text
    for name, value in (("secret key", frozen.secret_key), ("session token", frozen.token),
                        ("presigned signature", signature)):
        assert value not in caplog.text, f"the role's {name} is in a DEBUG line"


def test_the_sharepoint_certificate_password_comes_from_vault_in_prod(vault, sharepoint, prod):
    """The SharePoint store's certificate password was read from SHAREPOINT_CERT_PASSWORD in every
    environment: prod took a credential from the environment, and the ``evidence`` AppRole that setup
    installs read nothing. Now prod reads it at integrations/<env>/evidence with that AppRole and ignores
    the variable; the Graph emulator accepts the upload signed with it."""
    from resources.evidence.select import store_from_env
    from resources.evidence.sharepoint import SharePointStore

    addr, _, client = vault
    env = "prod"
    client.secrets.kv.v2.create_or_update_secret(path=f"integrations/{env}/evidence", mount_point="secret",
                                                 secret={"sharepoint_cert_password": sharepoint.cert_password})
    roles = vault_setup.install(client, env)
    for name, value in {"PROJECTX_EVIDENCE_STORE": "sharepoint", "TENANT_ID": sharepoint.tenant_id,
                        "CLIENT_ID": sharepoint.client_id, "CERT_PATH": str(sharepoint.cert_path),
                        "SHAREPOINT_CERT_PASSWORD": "env-not-the-password", "SHAREPOINT_SITE_ID": sharepoint.site_id,
                        "SHAREPOINT_LIBRARY_ID": sharepoint.library_id,
                        "SHAREPOINT_AUTHORITY_HOST": sharepoint.sandbox.url,
                        "SHAREPOINT_GRAPH_URL": sharepoint.sandbox.graph_url, "VAULT_ADDR": addr,
                        "VAULT_EVIDENCE_ROLE_ID": roles["evidence"]["role_id"],
                        "VAULT_EVIDENCE_SECRET_ID": roles["evidence"]["secret_id"]}.items():
        prod.setenv(name, value)
    store = store_from_env()
    assert isinstance(store, SharePointStore)
    assert store.settings.cert_password == sharepoint.cert_password
    obj = store.put(b"evidence bytes", {"filename": "a.txt"})
    assert store.get(obj.sha256) == b"evidence bytes"
