"""Installs the least-privilege Vault policies and one AppRole per connector (spec §3.1).

``resources/vault_policies/<connector>.hcl`` is the policy of record; this fills in the KV mount and
the environment, writes it as ``projectx-<env>-<connector>`` and creates the AppRole of the same name
with short-lived tokens (15-minute TTL, renewable to 4 hours) carrying that policy and the read-only
``flags`` one. Run by an operator with an admin token: ``python -m cli vault setup --env prod``.
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


def install(client, env: str, mount: str = "secret", approle_mount: str = "approle") -> dict[str, dict[str, str]]:
    """Write every connector's policy and AppRole; returns connector -> {role_id, secret_id}.

    The secret ids are credentials: hand them to the workers' secret injection, never to a log."""
    if f"{approle_mount}/" not in client.sys.list_auth_methods():
        client.sys.enable_auth_method("approle", path=approle_mount)
    flags = policy_name(env, "flags")
    client.sys.create_or_update_policy(name=flags, policy=render_policy("flags", env, mount))
    out = {}
    for connector in connectors():
        name = policy_name(env, connector)
        client.sys.create_or_update_policy(name=name, policy=render_policy(connector, env, mount))
        client.auth.approle.create_or_update_approle(
            role_name=name, token_policies=[name, flags], token_ttl=TOKEN_TTL, token_max_ttl=TOKEN_MAX_TTL,
            mount_point=approle_mount)
        role_id = client.auth.approle.read_role_id(role_name=name, mount_point=approle_mount)["data"]["role_id"]
        generated = client.auth.approle.generate_secret_id(role_name=name, mount_point=approle_mount)
        secret_id = generated["data"]["secret_id"]
        out[connector] = {"role_id": role_id, "secret_id": secret_id}
    return out
