"""Workers log in to Vault with their Kubernetes service account (spec §3.1: "short-lived Vault tokens
derived from Kubernetes service accounts"): a real OpenBao with its kubernetes auth method, which asks the
cluster's TokenReview API (the Kubernetes emulator, over TLS) whether a pod's token is live and whose."""

from __future__ import annotations

import os
import stat
import uuid

import hvac.exceptions
import pytest

from cli.__main__ import main as cli_main
from resources import vault_auth, vault_setup
from resources.flags import flags_role
from resources.secrets import SecretStore
from sandbox.kubernetes.app import KubernetesSandbox

NAMESPACE = "grc"


@pytest.fixture(scope="module")
def cluster():
    sb = KubernetesSandbox(tls=True).start()
    yield sb
    sb.stop()


@pytest.fixture(scope="module")
def k8s_roles(vault, cluster, tmp_path_factory):
    """`cli vault setup --kubernetes-namespace` against the real server: roles file, env, secrets."""
    addr, root, client = vault
    env = "prod"
    for connector in vault_setup.connectors():
        client.secrets.kv.v2.create_or_update_secret(
            path=f"integrations/{env}/{connector}", mount_point="secret",
            secret={"client_secret": f"{connector}-secret-{uuid.uuid4().hex}", "base_url": "https://x.invalid"})
    out = tmp_path_factory.mktemp("k8s") / "roles.env"
    old = {k: os.environ.get(k) for k in ("VAULT_ADDR", "VAULT_TOKEN")}
    os.environ.update(VAULT_ADDR=addr, VAULT_TOKEN=root)
    try:
        rc = cli_main(["vault", "setup", "--env", env, "--out", str(out), "--kubernetes-namespace", NAMESPACE,
                       "--kubernetes-host", cluster.url, "--kubernetes-ca-file", cluster.ca_bundle])
    finally:
        for k, v in old.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    assert rc == 0
    return out


@pytest.fixture
def pod(k8s_roles, cluster, vault, tmp_path, monkeypatch):
    """A pod of the servicenow worker: its mounted token file and the roles file in its environment."""
    addr, _, _ = vault
    for line in k8s_roles.read_text().splitlines():
        name, value = line.split("=", 1)
        monkeypatch.setenv(name, value)
    for name in list(os.environ):
        if name.startswith("VAULT_") and name.endswith(("_ROLE_ID", "_SECRET_ID")):
            monkeypatch.delenv(name)
    token_file = tmp_path / "token"
    token_file.write_text(cluster.service_account_token(NAMESPACE, "projectx-servicenow"))
    monkeypatch.setenv("VAULT_K8S_TOKEN_PATH", str(token_file))
    monkeypatch.setenv("VAULT_ADDR", addr)
    monkeypatch.delenv("VAULT_TOKEN", raising=False)
    monkeypatch.setenv("PROJECTX_ENV", "prod")
    return token_file


def test_setup_writes_one_role_name_per_connector_and_no_secret(k8s_roles, vault):
    _, _, client = vault
    lines = dict(line.split("=", 1) for line in k8s_roles.read_text().splitlines())
    assert lines == {f"VAULT_{c.upper()}_K8S_ROLE": f"projectx-prod-{c}" for c in vault_setup.connectors()}
    assert stat.S_IMODE(k8s_roles.stat().st_mode) == 0o600
    role = client.auth.kubernetes.read_role("projectx-prod-servicenow")
    assert role["bound_service_account_names"] == ["projectx-servicenow", "projectx-worker"]
    assert role["bound_service_account_namespaces"] == [NAMESPACE]
    assert set(role["token_policies"]) == {"projectx-prod-servicenow", "projectx-prod-flags"}
    assert role["token_ttl"] == 15 * 60


def test_a_pod_reads_its_connector_secret_with_its_service_account(pod, cluster):
    before = cluster.reviews
    values = SecretStore("integrations/prod").vendor("servicenow")
    assert values["client_secret"].startswith("servicenow-secret-")
    assert cluster.reviews == before + 1  # Vault asked the cluster, once: the token is then reused
    SecretStore("integrations/prod").vendor("servicenow")
    assert cluster.reviews == before + 1


def test_its_token_reads_no_other_connector(pod, vault):
    addr, _, _ = vault
    client = vault_auth.vault_client(addr, role="servicenow", strict=True)
    assert client.lookup_token()["data"]["ttl"] <= 15 * 60
    with pytest.raises(hvac.exceptions.Forbidden):
        client.secrets.kv.v2.read_secret_version(path="integrations/prod/jira", mount_point="secret",
                                                 raise_on_deleted_version=True)


def test_a_worker_pod_logs_in_as_each_connector_it_runs_and_reads_the_flags(pod, cluster, vault):
    """The run and step workers run every connector under one service account (a pod has one): each of
    its logins carries one connector's policy, and the flags are read with one of them."""
    from resources.flags import read_vault_flags

    addr, _, client = vault
    client.secrets.kv.v2.create_or_update_secret(path="integrations/prod/flags", mount_point="secret",
                                                 secret={"integration.jira.enabled": "false"})
    pod.write_text(cluster.service_account_token(NAMESPACE, "projectx-worker"))
    store = SecretStore("integrations/prod")
    assert store.vendor("servicenow")["client_secret"].startswith("servicenow-secret-")
    assert store.vendor("jira")["client_secret"].startswith("jira-secret-")
    assert read_vault_flags("prod").get("integration.jira.enabled") == "false"
    jira = vault_auth.vault_client(addr, role="jira", strict=True)
    with pytest.raises(hvac.exceptions.Forbidden):  # the jira login reads jira's path only
        jira.secrets.kv.v2.read_secret_version(path="integrations/prod/servicenow", mount_point="secret",
                                               raise_on_deleted_version=True)


def test_an_unconfigured_auth_mount_is_vault_trouble_not_a_refusal(pod, vault, monkeypatch):
    _, _, client = vault
    if "k8s-bare/" not in client.sys.list_auth_methods():
        client.sys.enable_auth_method("kubernetes", path="k8s-bare")
    client.auth.kubernetes.create_role("projectx-prod-servicenow", bound_service_account_names=["projectx-servicenow"],
                                       bound_service_account_namespaces=[NAMESPACE], mount_point="k8s-bare")
    monkeypatch.setenv("VAULT_K8S_MOUNT", "k8s-bare")
    with pytest.raises(ConnectionError, match=r"no configuration.*--kubernetes-namespace"):
        vault_auth.vault_client(vault[0], role="servicenow", strict=True)


def test_another_service_account_is_refused_and_the_error_names_the_fix(pod, cluster):
    other = cluster.service_account_token(NAMESPACE, "projectx-jira")  # the jira pod's token, servicenow's role
    pod.write_text(other)
    with pytest.raises(PermissionError) as info:
        SecretStore("integrations/prod").vendor("servicenow")
    text = str(info.value)
    assert "projectx-prod-servicenow" in text and "VAULT_SERVICENOW_K8S_ROLE" in text and "service account" in text
    assert other not in text and other.split(".")[1] not in text


def test_a_token_from_another_namespace_or_cluster_or_revoked_is_refused(pod, cluster, tmp_path):
    forged = KubernetesSandbox()  # another cluster's key: this cluster's TokenReview does not know it
    cases = [cluster.service_account_token("default", "projectx-servicenow"),
             forged.service_account_token(NAMESPACE, "projectx-servicenow")]
    revoked = cluster.service_account_token(NAMESPACE, "projectx-servicenow")
    cluster.revoke(revoked)
    for token in [*cases, revoked]:
        pod.write_text(token)
        with pytest.raises(PermissionError, match="refused the Kubernetes login"):
            SecretStore("integrations/prod").vendor("servicenow")


def test_a_missing_or_malformed_token_file_names_the_setting(pod, tmp_path, monkeypatch):
    monkeypatch.setenv("VAULT_K8S_TOKEN_PATH", str(tmp_path / "absent"))
    with pytest.raises(PermissionError, match=r"VAULT_K8S_TOKEN_PATH.*cannot be read.*automountServiceAccountToken"):
        SecretStore("integrations/prod").vendor("servicenow")
    bad = tmp_path / "not-a-jwt"
    bad.write_text("hello world\n")
    monkeypatch.setenv("VAULT_K8S_TOKEN_PATH", str(bad))
    with pytest.raises(PermissionError, match="not a service account token"):
        SecretStore("integrations/prod").vendor("servicenow")


def test_a_rotated_token_file_is_read_at_the_next_login(pod, cluster, vault):
    """The kubelet replaces a projected token about hourly: a login after the Vault token was revoked reads
    the file again, so the old (now revoked) token is not kept in memory."""
    addr, _, _ = vault
    old = pod.read_text()
    first = vault_auth.vault_client(addr, role="servicenow", strict=True)
    assert SecretStore("integrations/prod").vendor("servicenow")["client_secret"]
    cluster.revoke(old)
    pod.write_text(cluster.service_account_token(NAMESPACE, "projectx-servicenow"))
    first.auth.token.revoke_self()  # Vault restarted / token revoked: the store logs in again
    assert SecretStore("integrations/prod").vendor("servicenow")["client_secret"].startswith("servicenow-secret-")
    assert vault_auth.vault_client(addr, role="servicenow", strict=True).token != first.token


def test_the_connector_setting_wins_over_the_worker_one(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith("VAULT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("VAULT_ROLE_ID", "worker-role")
    monkeypatch.setenv("VAULT_SECRET_ID", "worker-secret")
    monkeypatch.setenv("VAULT_JIRA_K8S_ROLE", "projectx-prod-jira")
    method = vault_auth.login_method("jira")
    assert isinstance(method, vault_auth.KubernetesLogin) and method.vault_role == "projectx-prod-jira"
    assert vault_auth.login_method("onetrust") == ("worker-role", "worker-secret")
    monkeypatch.setenv("VAULT_JIRA_ROLE_ID", "jira-role")
    monkeypatch.setenv("VAULT_JIRA_SECRET_ID", "jira-secret")
    assert vault_auth.login_method("jira") == ("jira-role", "jira-secret")  # AppRole wins at one level
    for name in ("VAULT_ROLE_ID", "VAULT_SECRET_ID", "VAULT_JIRA_ROLE_ID", "VAULT_JIRA_SECRET_ID"):
        monkeypatch.delenv(name)
    assert flags_role() == "jira"  # the flags are read with a connector's Kubernetes role, as with AppRoles
    monkeypatch.setenv("VAULT_K8S_ROLE", "projectx-prod-flags-reader")
    assert flags_role() == "flags"


def test_setup_refuses_bad_kubernetes_options_before_installing(vault, tmp_path, monkeypatch, capsys):
    addr, root, client = vault
    monkeypatch.setenv("VAULT_ADDR", addr)
    monkeypatch.setenv("VAULT_TOKEN", root)
    out = tmp_path / "roles.env"
    assert cli_main(["vault", "setup", "--env", "stg", "--out", str(out), "--kubernetes-host", "https://x"]) == 2
    assert "--kubernetes-namespace" in capsys.readouterr().err
    not_pem = tmp_path / "ca.crt"
    not_pem.write_text("hello")
    assert cli_main(["vault", "setup", "--env", "stg", "--out", str(out), "--kubernetes-namespace", NAMESPACE,
                     "--kubernetes-ca-file", str(not_pem)]) == 2
    assert "not a PEM certificate" in capsys.readouterr().err
    assert cli_main(["vault", "setup", "--env", "stg", "--out", str(out), "--kubernetes-namespace", "a b"]) == 1
    assert "--kubernetes-namespace" in capsys.readouterr().err
    assert not out.exists() and "projectx-stg-servicenow" not in client.sys.list_policies()["policies"]


def test_the_cluster_review_refuses_callers_without_a_live_token(cluster):
    import requests

    url = cluster.url + "/apis/authentication.k8s.io/v1/tokenreviews"
    body = {"kind": "TokenReview", "apiVersion": "authentication.k8s.io/v1", "spec": {"token": "x.y.z"}}
    assert requests.post(url, json=body, verify=cluster.ca_bundle, timeout=5).status_code == 401
    live = cluster.service_account_token(NAMESPACE, "projectx-servicenow")
    answer = requests.post(url, json=body, headers={"Authorization": f"Bearer {live}"}, verify=cluster.ca_bundle,
                           timeout=5)
    assert answer.status_code == 201 and answer.json()["status"]["authenticated"] is False
    assert requests.post(url, data=b"{", headers={"Authorization": f"Bearer {live}"}, verify=cluster.ca_bundle,
                         timeout=5).status_code == 400
