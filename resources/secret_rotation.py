"""When each secret was set, when it expires, and rotation that leaves an audit trail (spec §3.1).

Lifetimes: OneTrust API tokens 1 year (§2.3), the ServiceNow client secret 30 days (§2.1), every other
static credential 90 days (§3.1). The date a key was set is kept in the Vault secret's KV v2 custom
metadata (``set_at.<key>``, written by :func:`rotate`); a key without one counts from the current
version's ``created_time``. Only key names and dates leave this module, never values.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from resources.secrets import ENV_NAMES, SECRET_KEYS, SecretStore

log = logging.getLogger(__name__)

STATIC_DAYS = 90
LIFETIME_DAYS: dict[str, dict[str, int]] = {
    "servicenow": {"client_secret": 30, "password": 90},
    "onetrust": {"api_token": 365, "client_secret": STATIC_DAYS},
    "jira": {"client_secret": STATIC_DAYS, "pat": STATIC_DAYS, "api_token": STATIC_DAYS},  # the OAuth
    # refresh token rotates itself on every use; the webhook secrets live at the receiver's own path
    "webhooks": dict.fromkeys(ENV_NAMES["webhooks"], STATIC_DAYS),
}
SET_AT = "set_at."


def _parse(ts: str) -> datetime:
    ts = ts.rstrip("Z")
    if "." in ts:  # Vault gives nanoseconds; Python parses microseconds
        head, frac = ts.split(".", 1)
        ts = f"{head}.{frac[:6]}"
    return datetime.fromisoformat(ts).replace(tzinfo=UTC)


def secret_dates(store: SecretStore, connector: str) -> dict[str, tuple[datetime, int]]:
    """key -> (date set, lifetime in days) for the connector's tracked secrets present in Vault."""
    if not store.vault_addr:
        return {}
    import hvac.exceptions

    path = f"{store.vault_prefix}/{connector}"

    def read(client) -> tuple[dict, Any]:
        meta = client.secrets.kv.v2.read_secret_metadata(path=path, mount_point=store.kv_mount)["data"]
        keys = client.secrets.kv.v2.read_secret_version(
            path=path, mount_point=store.kv_mount, raise_on_deleted_version=True)["data"]["data"].keys()
        return meta, keys

    try:
        meta, keys = store.read(connector, read)  # a revoked AppRole token logs in again once
    except hvac.exceptions.InvalidPath:
        return {}
    except hvac.exceptions.Forbidden:
        raise PermissionError(f"Vault denied reading the metadata of {store.kv_mount}/{path}: the {connector} "
                              f"policy (resources/vault_policies/{connector}.hcl) must allow it") from None
    custom = meta.get("custom_metadata") or {}
    current = meta["versions"][str(meta["current_version"])]["created_time"]
    lifetimes = LIFETIME_DAYS.get(connector, {})
    out = {}
    for key in keys:
        if key in lifetimes or (key in SECRET_KEYS and key != "refresh_token"):
            out[key] = (_parse(custom.get(SET_AT + key) or current), lifetimes.get(key, STATIC_DAYS))
    return out


def webhook_secret_dates(store: SecretStore) -> dict[str, tuple[datetime, int]]:
    """The receiver's signing secrets (``integrations/<env>/webhooks``), read with the webhooks AppRole
    (its policy allows the metadata); empty where this process has no access to that path."""
    try:
        return secret_dates(store, "webhooks")
    except Exception as exc:  # no webhooks role here, or Vault denied it: the vendors' own dates still count
        log.debug("webhook secret dates unavailable: %s", type(exc).__name__)
        return {}


# The receiver's signing secrets that belong to no vendor connector, graded under an owner of their own
# (a lapsed one stops those deliveries just the same): Slack's (runbook RB-005) and the partners' generic
# Standard Webhooks endpoint.
OTHER_SECRET_OWNERS: dict[str, tuple[str, ...]] = {
    "slack": ("slack_signing_secret",),
    "partners": ("generic_webhook_secret",),
}


def other_secret_dates(hooks: dict[str, tuple[datetime, int]]) -> dict[str, dict[str, tuple[datetime, int]]]:
    """owner -> its keys' (date set, lifetime) out of :func:`webhook_secret_dates`."""
    return {owner: {key: hooks[key] for key in keys if key in hooks} for owner, keys in OTHER_SECRET_OWNERS.items()}


def connector_secret_dates(store: SecretStore, connector: str,
                           hooks: dict[str, tuple[datetime, int]] | None = None) -> dict[str, tuple[datetime, int]]:
    """What a connector's ``secret_expiry`` check grades: its own secrets and the signing secret of its
    webhook endpoint (``<connector>_webhook_secret``), since a lapsed webhook secret stops that vendor's
    deliveries as surely as a lapsed API credential stops its syncs. ``hooks``: :func:`webhook_secret_dates`
    read once for all connectors (default: read here)."""
    hooks = webhook_secret_dates(store) if hooks is None else hooks
    return {**secret_dates(store, connector),
            **{key: when for key, when in hooks.items() if key.startswith(f"{connector}_")}}


def rotate(store: SecretStore, connector: str, key: str, value: str, *, correlation_id: str,
           record: Callable[..., Any] | None = None, now: datetime | None = None) -> None:
    """Write a new value for one key, stamp its set date, and record the rotation in the audit log.

    ``record``: ``resources.audit.record_event`` bound to a warehouse connection (or any callable with
    its keyword arguments). The audit row names the path and key, never the value. Rotation replaces one
    key of a secret that exists: a missing path is an error naming the command that creates it."""
    import hvac.exceptions

    _check_rotation(store, connector, key, value)
    now = now or datetime.now(UTC)
    path = f"{store.vault_prefix}/{connector}"
    stamp = now.isoformat().replace("+00:00", "Z")

    def patch(client) -> None:  # one request: a 403 (revoked token) wrote nothing, so sending it again is safe
        client.secrets.kv.v2.patch(path=path, secret={key: value}, mount_point=store.kv_mount)

    def stamp_set_date(client) -> None:  # the same date again after a new login: harmless
        kv = client.secrets.kv.v2
        meta = kv.read_secret_metadata(path=path, mount_point=store.kv_mount)["data"]
        custom = {**(meta.get("custom_metadata") or {}), SET_AT + key: stamp}
        kv.update_metadata(path=path, custom_metadata=custom, mount_point=store.kv_mount)

    where = f"{store.kv_mount}/{path}"
    try:
        store.write(connector, patch)  # a revoked AppRole token logs in again once
    except hvac.exceptions.InvalidPath:  # hvac's "patch only works on existing data" names no fix
        raise LookupError(missing_secret_message(store, connector, key)) from None
    except hvac.exceptions.Forbidden:
        raise PermissionError(f"Vault denied rotating {key} at {where}: the {connector} policy "
                              f"(resources/vault_policies/{connector}.hcl) or the operator's VAULT_TOKEN must allow "
                              "patch and metadata update there") from None
    refused = None
    try:
        store.write(connector, stamp_set_date)
    except hvac.exceptions.Forbidden:
        refused = (f"{key} at {where} was rotated (the new value is live) but Vault denied recording its set date "
                   f"in the secret's metadata: the {connector} policy (resources/vault_policies/{connector}.hcl) "
                   "or the operator's VAULT_TOKEN must allow updating metadata there; until then its expiry "
                   "counts from the previous date")
    if record is not None:
        record(action="secret", system=connector, correlation_id=correlation_id, operation="rotate",
               object_id=f"{where}#{key}", status="rotated" if refused is None else "rotated_date_not_recorded",
               detail={"key": key, "set_at": now.isoformat(),
                       "lifetime_days": LIFETIME_DAYS.get(connector, {}).get(key, STATIC_DAYS)})
    if refused is not None:
        raise PermissionError(refused)


def _check_rotation(store: SecretStore, connector: str, key: str, value: str) -> None:
    """Refuse, before anything is written, a rotation that would not take: a key no setting of the connector
    reads (``api_tokn``: the new credential sat unread beside the old, which the operator then revoked at the
    vendor), or a value every read then refuses (blank, a line break or other control character inside, not
    text) and that would stop every sync. Errors name the path and key, never the value."""
    where = f"{store.kv_mount}/{store.vault_prefix}/{connector}"
    names = ENV_NAMES.get(connector)
    if names is None:
        raise ValueError(f"cannot rotate {key}: {connector} has no Vault path of its own (the paths are "
                         f"{', '.join(sorted(ENV_NAMES))})")
    if key not in names:
        raise ValueError(f"cannot rotate {key} at {where}: no {connector} setting reads that key (the keys read "
                         f"there are {', '.join(names)}); nothing was written")
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"cannot rotate {key} at {where}: the new value is empty; nothing was written")
    if any(ord(c) < 32 or ord(c) == 127 for c in value.strip()):
        raise ValueError(f"cannot rotate {key} at {where}: the new value has a control character (a line break, "
                         "tab or NUL) inside, which every read refuses; nothing was written")
    from pipelines.common.entrypoint import remember_secret

    if key in SECRET_KEYS:
        remember_secret(value.strip())  # masked in what this process says from now on, as a value read from Vault


def missing_secret_message(store: SecretStore, connector: str, key: str) -> str:
    """Why :func:`rotate` found nothing to rotate, and the command that creates the secret (reading the
    value from stdin, so it stays out of shell history and of this message)."""
    path = f"{store.vault_prefix}/{connector}"
    env = store.vault_prefix.rsplit("/", 1)[-1]
    return (f"cannot rotate {key}: Vault has no secret at {store.kv_mount}/{path} (or its latest version is "
            "deleted), and rotation only replaces a key of an existing secret. Create it first with "
            f"`vault kv put -mount={store.kv_mount} {path} {key}=-` (`bao kv put` on OpenBao; `=-` reads the "
            f"value from stdin); `python -m cli vault setup --env {env} --out roles.env` installs the policies "
            f"and AppRoles that read it but writes no secret. Or check VAULT_KV_MOUNT={store.kv_mount} and the "
            "environment, if the path itself is wrong")
