"""``python -m cli vault setup --env prod --out FILE``: install the least-privilege policies and one
AppRole per connector with an operator's token (``VAULT_ADDR``, ``VAULT_TOKEN``), and write each
connector's ``VAULT_<CONNECTOR>_ROLE_ID`` / ``_SECRET_ID`` to FILE (mode 0600) for the workers'
secret injection. With ``--kubernetes-namespace NS`` the roles are Kubernetes auth roles bound to the
service accounts ``projectx-<connector>`` and the workers' ``projectx-worker`` instead (no secret id is
made), and FILE gets each connector's
``VAULT_<CONNECTOR>_K8S_ROLE``. Nothing secret is printed."""

from __future__ import annotations

import os
import sys


def setup(env: str, out: str, namespace: str | None = None, host: str | None = None,
          ca_file: str | None = None, worker_account: str | None = None) -> int:
    from resources.vault_auth import new_client
    from resources.vault_setup import WORKER_ACCOUNT, install, install_kubernetes, service_account

    addr, token = os.environ.get("VAULT_ADDR"), os.environ.get("VAULT_TOKEN")
    if not addr or not token:
        print("set VAULT_ADDR and VAULT_TOKEN (an operator token allowed to write policies and AppRoles)",
              file=sys.stderr)
        return 2
    folder = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK) or os.path.isdir(out):
        print(f"--out {out}: cannot write a file there (is its folder missing or read-only?); nothing was installed",
              file=sys.stderr)
        return 2
    if (host or ca_file or worker_account is not None) and not namespace:
        print("--kubernetes-host, --kubernetes-ca-file and --kubernetes-worker-account configure the Kubernetes "
              "login: give "
              "--kubernetes-namespace too; nothing was installed", file=sys.stderr)
        return 2
    ca_pem = None
    if ca_file:
        try:
            with open(ca_file, encoding="ascii") as f:
                ca_pem = f.read()
        except (OSError, UnicodeDecodeError) as exc:
            print(f"--kubernetes-ca-file {ca_file}: cannot read it ({type(exc).__name__}); nothing was installed",
                  file=sys.stderr)
            return 2
        if "-----BEGIN CERTIFICATE-----" not in ca_pem:
            print(f"--kubernetes-ca-file {ca_file}: not a PEM certificate (the cluster's CA, ca.crt); nothing was "
                  "installed", file=sys.stderr)
            return 2
    try:  # the product's Vault client: no redirect off VAULT_ADDR, bounded requests, VAULT_NAMESPACE / VAULT_CACERT
        client = new_client(addr, token)
    except ValueError as exc:  # a VAULT_CACERT / VAULT_CAPATH / VAULT_NAMESPACE that cannot be used, named
        print(f"{exc}; nothing was installed", file=sys.stderr)
        return 2
    kv_mount = os.environ.get("VAULT_KV_MOUNT", "secret")
    if namespace:
        k8s_roles = install_kubernetes(client, env, namespace, mount=kv_mount, host=host, ca_pem=ca_pem,
                                       k8s_mount=os.environ.get("VAULT_K8S_MOUNT", "kubernetes"),
                                       worker_account=WORKER_ACCOUNT if worker_account is None else worker_account)
        _write_private(out, "".join(f"VAULT_{c.upper()}_K8S_ROLE={name}\n" for c, name in k8s_roles.items()))
        shared = worker_account if worker_account is not None else WORKER_ACCOUNT
        print(f"installed {len(k8s_roles)} policies and Kubernetes roles for integrations/{env}, bound in namespace "
              f"{namespace} to the service accounts {', '.join(service_account(c) for c in k8s_roles)}"
              + (f" (each also to the workers' {shared})" if shared else "") + f"; role names in {out}")
        return 0
    roles = install(client, env, mount=kv_mount)
    _write_private(out, "".join(f"VAULT_{connector.upper()}_ROLE_ID={ids['role_id']}\n"
                                f"VAULT_{connector.upper()}_SECRET_ID={ids['secret_id']}\n"
                                for connector, ids in roles.items()))
    print(f"installed {len(roles)} policies and AppRoles for integrations/{env}: {', '.join(roles)}; ids in {out}")
    return 0


def _write_private(out: str, text: str) -> None:
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # the mode above applies to a new file only: an existing one keeps its own
    with os.fdopen(fd, "w") as f:
        f.write(text)
