"""Installs the least-privilege Vault policies and one machine login per connector (spec §3.1).

``resources/vault_policies/<connector>.hcl`` is the policy of record; this fills in the KV mount and
the environment, writes it as ``projectx-<env>-<connector>`` and creates the role of the same name with
short-lived tokens (15-minute TTL, renewable to 4 hours) carrying that policy and the read-only
``flags`` one: an AppRole, or on Kubernetes (:func:`install_kubernetes`) a role of the ``kubernetes``
auth method bound to the connector's service account ``projectx-<connector>`` in one namespace, so a
pod's token is derived from its service account and no secret id exists. Run by an operator with an
admin token: ``python -m cli vault setup --env prod`` (``--kubernetes-namespace grc`` for the latter).
"""

from __future__ import annotations

from pathlib import Path
from string import Template

POLICY_DIR = Path(__file__).with_name("vault_policies")
TOKEN_TTL, TOKEN_MAX_TTL = "15m", "4h"


def connectors() -> list[str]:
    """Every connector with a policy file (``flags`` is shared configuration, not a connector)."""
    return sorted(p.stem for p in POLICY_DIR.glob("*.hcl") if p.stem != "flags")


def policy_name(env: str, connector: str) -> str:
    return f"projectx-{env}-{connector}"


def render_policy(connector: str, env: str, mount: str = "secret") -> str:
    path = POLICY_DIR / f"{connector}.hcl"
    if not path.exists():
        raise ValueError(f"no Vault policy for {connector!r}: add resources/vault_policies/{connector}.hcl")
    return Template(path.read_text()).substitute(mount=mount, env=env)


def _policies(client, env: str, mount: str) -> str:
    """Write the flags policy and every connector's; returns the flags policy's name."""
    flags = policy_name(env, "flags")
    client.sys.create_or_update_policy(name=flags, policy=render_policy("flags", env, mount))
    for connector in connectors():
        client.sys.create_or_update_policy(name=policy_name(env, connector),
                                           policy=render_policy(connector, env, mount))
    return flags


def service_account(connector: str) -> str:
    return f"projectx-{connector}"


IN_CLUSTER_HOST = "https://kubernetes.default.svc"
WORKER_ACCOUNT = "projectx-worker"


def install_kubernetes(client, env: str, namespace: str, *, mount: str = "secret", k8s_mount: str = "kubernetes",
                       host: str | None = None, ca_pem: str | None = None,
                       worker_account: str | None = WORKER_ACCOUNT) -> dict[str, str]:
    """Write every connector's policy and a Kubernetes auth role bound, in ``namespace``, to its own service
    account (``projectx-<connector>``, for a pod that runs that connector alone) and to ``worker_account``
    (the run and step workers, which run every connector: a pod has one service account, and each login
    still carries one connector's policy, as each AppRole does); returns connector -> Vault role name.

    The auth method's config is always written: Vault answers every login 500 without one. ``host``
    defaults to the API's address inside the cluster; without ``ca_pem`` Vault reads the CA and its own
    reviewer token from its pod, as Vault running in the cluster does. Nothing returned is secret."""
    if not namespace.strip() or any(c in namespace for c in " */,"):
        raise ValueError(f"--kubernetes-namespace {namespace!r}: give the one namespace the workers run in")
    if f"{k8s_mount}/" not in client.sys.list_auth_methods():
        client.sys.enable_auth_method("kubernetes", path=k8s_mount)
    config: dict[str, object] = {"kubernetes_host": host or IN_CLUSTER_HOST}
    if ca_pem:
        config.update(kubernetes_ca_cert=ca_pem, disable_local_ca_jwt=True)
    client.write(f"auth/{k8s_mount}/config", **config)
    flags = _policies(client, env, mount)
    out = {}
    for connector in connectors():
        name = policy_name(env, connector)
        accounts = [service_account(connector), *([worker_account] if worker_account else [])]
        client.auth.kubernetes.create_role(
            name, bound_service_account_names=accounts,
            bound_service_account_namespaces=[namespace], policies=[name, flags],
            ttl=TOKEN_TTL, max_ttl=TOKEN_MAX_TTL, mount_point=k8s_mount)
        out[connector] = name
    return out


def install(client, env: str, mount: str = "secret", approle_mount: str = "approle") -> dict[str, dict[str, str]]:
    """Write every connector's policy and AppRole; returns connector -> {role_id, secret_id}.

    The secret ids are credentials: hand them to the workers' secret injection, never to a log."""
    if f"{approle_mount}/" not in client.sys.list_auth_methods():
        client.sys.enable_auth_method("approle", path=approle_mount)
    flags = _policies(client, env, mount)
    out = {}
    for connector in connectors():
        name = policy_name(env, connector)
        client.auth.approle.create_or_update_approle(
            role_name=name, token_policies=[name, flags], token_ttl=TOKEN_TTL, token_max_ttl=TOKEN_MAX_TTL,
            mount_point=approle_mount)
        role_id = client.auth.approle.read_role_id(role_name=name, mount_point=approle_mount)["data"]["role_id"]
        generated = client.auth.approle.generate_secret_id(role_name=name, mount_point=approle_mount)
        secret_id = generated["data"]["secret_id"]
        out[connector] = {"role_id": role_id, "secret_id": secret_id}
    return out
