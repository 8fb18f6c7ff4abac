"""``python -m cli vault setup --env prod --out FILE``: install the least-privilege policies and one
AppRole per connector with an operator's token (``VAULT_ADDR``, ``VAULT_TOKEN``), and write each
connector's ``VAULT_<CONNECTOR>_ROLE_ID`` / ``_SECRET_ID`` to FILE (mode 0600) for the workers'
secret injection. Nothing secret is printed."""

from __future__ import annotations

import os
import sys


def setup(env: str, out: str) -> int:
    import hvac

    from resources.vault_setup import install

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
    roles = install(hvac.Client(url=addr, token=token), env, mount=os.environ.get("VAULT_KV_MOUNT", "secret"))
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # the mode above applies to a new file only: an existing one keeps its own
    with os.fdopen(fd, "w") as f:
        for connector, ids in roles.items():
            f.write(f"VAULT_{connector.upper()}_ROLE_ID={ids['role_id']}\n")
            f.write(f"VAULT_{connector.upper()}_SECRET_ID={ids['secret_id']}\n")
    print(f"installed {len(roles)} policies and AppRoles for integrations/{env}: {', '.join(roles)}; ids in {out}")
    return 0
