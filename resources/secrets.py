"""Secrets from Vault KV v2 (``<prefix>/<vendor>``), with the spec's env vars as the local fallback.

Vault is used when ``VAULT_ADDR`` is set: each connector logs in with its own AppRole
(:mod:`resources.vault_auth`; ``VAULT_TOKEN`` for local use), KV mount from ``VAULT_KV_MOUNT``, default
``secret``. Locally a key missing from Vault falls back to its env var. In ``stg`` and ``prod`` secrets
come only from Vault: the secret keys (``SECRET_KEYS``) are never read from the environment there, and
a missing ``VAULT_ADDR`` is an error that says so. Values are never logged; errors name the key and
the place to set it, not the value. Set dates and rotation: :mod:`resources.secret_rotation`.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable
from typing import Any, TypeVar

from resources.vault_auth import RETRY_WAITS

log = logging.getLogger(__name__)
T = TypeVar("T")

# Vault key -> spec env var, per vendor (spec §2.x "Configuration Steps").
ENV_NAMES: dict[str, dict[str, str]] = {
    "servicenow": {
        "base_url": "SERVICENOW_BASE_URL",
        "client_id": "SERVICENOW_OAUTH_CLIENT_ID",
        "client_secret": "SERVICENOW_OAUTH_CLIENT_SECRET",
        "username": "SERVICENOW_USER",
        "password": "SERVICENOW_PASSWORD",
    },
    "jira": {
        "base_url": "JIRA_BASE_URL",
        "auth_mode": "JIRA_AUTH_MODE",
        "client_id": "JIRA_OAUTH_CLIENT_ID",
        "client_secret": "JIRA_OAUTH_CLIENT_SECRET",
        "refresh_token": "JIRA_OAUTH_REFRESH_TOKEN",
        "pat": "JIRA_PAT",
        "user_email": "JIRA_USER_EMAIL",
        "api_token": "JIRA_API_TOKEN",
    },
    "onetrust": {
        "base_url": "ONETRUST_BASE_URL",
        "region": "ONETRUST_REGION",
        "api_token": "ONETRUST_API_TOKEN",
        "client_id": "ONETRUST_CLIENT_ID",
        "client_secret": "ONETRUST_CLIENT_SECRET",
        "timeout_seconds": "ONETRUST_TIMEOUT_SECONDS",
    },
    "slack": {
        "bot_token": "SLACK_BOT_TOKEN",
        "api_url": "SLACK_API_URL",
        "client_id": "SLACK_CLIENT_ID",
    },
    # The webhook receiver's own path: only the endpoint secrets, so its token reads no vendor credential
    # (policy resources/vault_policies/webhooks.hcl). Key = the env var's name in lower case.
    "webhooks": {
        "servicenow_webhook_secret": "SERVICENOW_WEBHOOK_SECRET",
        "jira_webhook_secret": "JIRA_WEBHOOK_SECRET",
        "generic_webhook_secret": "GENERIC_WEBHOOK_SECRET",
        "slack_signing_secret": "SLACK_SIGNING_SECRET",
    },
    # The evidence stores' own credentials (policy resources/vault_policies/evidence.hcl): the SharePoint
    # certificate's password. S3 assumes a role and Drive reads a key file: no secret value of theirs here.
    "evidence": {
        "sharepoint_cert_password": "SHAREPOINT_CERT_PASSWORD",
    },
    "smtp": {
        "host": "SMTP_HOST",
        "port": "SMTP_PORT",
        "username": "SMTP_USERNAME",
        "password": "SMTP_PASSWORD",
        "from_address": "SMTP_FROM_ADDRESS",
        "starttls": "SMTP_STARTTLS",
        "ca_bundle": "SMTP_CA_BUNDLE",
    },
}


# Keys that hold a credential: only Vault may supply them in stg/prod.
SECRET_KEYS = frozenset({"client_secret", "password", "refresh_token", "pat", "api_token", "webhook_secret",
                         "bot_token", "signing_secret", "sharepoint_cert_password", *ENV_NAMES["webhooks"]})
STRICT_ENVIRONMENTS = ("stg", "prod")
# How long a vendor's values read from Vault may stand in while Vault cannot be asked: the 15-minute TTL
# of the AppRole token that read them (resources/vault_setup.py), as a lease would.
LAST_GOOD_SECONDS = 15 * 60
_LAST_GOOD: dict[tuple[str | None, str, str], tuple[float, dict[str, str]]] = {}
_SECRET_KEY_NAME = re.compile(r"secret|password|token|(^|_)pat$|api_?key", re.IGNORECASE)


def _strict_default() -> bool:
    """stg and prod, and fail-closed any PROJECTX_ENV that names no environment ("production", "prod" with a
    CR left by a CRLF .env file): before, those read credentials from the environment, over plain http://
    and with ~/.vault-token, as local does."""
    from resources.environment import env_name

    return env_name() != "local"


class SecretStore:
    """Reads one vendor's settings from Vault, falling back to environment variables."""

    def __init__(self, vault_prefix: str, vault_addr: str | None = None, vault_token: str | None = None,
                 kv_mount: str | None = None, strict: bool | None = None):
        self.vault_prefix = vault_prefix
        self.strict = _strict_default() if strict is None else strict
        self._explicit_token = vault_token is not None
        self.vault_addr = vault_addr if vault_addr is not None else os.environ.get("VAULT_ADDR")
        self._token = vault_token if vault_token is not None else os.environ.get("VAULT_TOKEN")
        self.kv_mount = kv_mount or os.environ.get("VAULT_KV_MOUNT", "secret")

    def vendor(self, vendor: str) -> dict[str, str | None]:
        names = ENV_NAMES[vendor]
        if self.strict and not self.vault_addr:
            raise PermissionError(
                f"PROJECTX_ENV={os.environ.get('PROJECTX_ENV')} reads {vendor} secrets only from Vault: set "
                f"VAULT_ADDR and the AppRole (VAULT_ROLE_ID / VAULT_SECRET_ID) for {self.vault_prefix}/{vendor}")
        stored = self._vault_values_or_last_good(vendor) if self.vault_addr else {}
        unread = sorted(set(stored) - set(names))
        if unread:  # `baseUrl` for `base_url`: read as missing, the error then blamed the environment variable
            log.warning("Vault %s/%s/%s has keys no %s setting reads: %s (names only); the keys read there are %s: "
                        "rename them", self.kv_mount, self.vault_prefix, vendor, vendor, ", ".join(unread),
                        ", ".join(names))
        if self.strict:
            ignored = sorted(env for key, env in names.items() if key in SECRET_KEYS and os.environ.get(env))
            if ignored:  # names only: the value is a credential
                missing = [f"{key} (for {env})" for key, env in sorted(names.items())
                           if env in ignored and not stored.get(key)]
                log.warning("%s %s set in the environment, ignored: PROJECTX_ENV=%s reads secrets only from Vault "
                            "(%s/%s/%s)%s; remove it from the deployment", ", ".join(ignored),
                            "is" if len(ignored) == 1 else "are", os.environ.get("PROJECTX_ENV"), self.kv_mount,
                            self.vault_prefix, vendor,
                            f", which has no {', '.join(missing)}: write it there" if missing else "")
        return {key: stored.get(key) or self._env_fallback(key, env) for key, env in names.items()}

    def _env_fallback(self, key: str, env: str) -> str | None:
        if self.strict and key in SECRET_KEYS:
            return None  # stg/prod: a credential set only in the environment is not used
        # surrounding whitespace dropped as from Vault (``_text``): a .env file with CRLF line ends leaves a "\r"
        # on every value, and a webhook secret ending in it failed every delivery's signature
        return (os.environ.get(env) or "").strip() or None

    def read_path(self, name: str, role: str | None = None) -> dict[str, str]:
        """Every key at ``<prefix>/<name>`` (e.g. ``flags``), {} if the path does not exist."""
        return self._vault_values(name, role=role or name)

    def client(self, role: str | None = None):
        """An hvac client for this store: the explicit token if given, else the role's AppRole login."""
        from resources.vault_auth import vault_client

        if self._explicit_token:
            from resources.vault_auth import new_client

            return new_client(self.vault_addr, self._token)
        return vault_client(self.vault_addr, role=role, token=self._token, strict=self.strict)

    def _vault_values_or_last_good(self, vendor: str) -> dict[str, str]:
        """A vendor's values from Vault; while Vault is unreachable, sealed or rate-limiting, the values this
        process last read there, for as long as the AppRole token that read them lives
        (:data:`LAST_GOOD_SECONDS`), with a warning: a run that began with them goes on. Never after a
        refusal (a revoked policy), a deleted version or a malformed value, and never the environment."""
        key = (self.vault_addr, self.kv_mount, f"{self.vault_prefix}/{vendor}")
        try:
            values = self._vault_values(vendor)
        except ConnectionError as exc:
            return self._last_good(key, exc)
        except Exception:  # refused, deleted, malformed: the copy must not outlive what Vault now says
            _LAST_GOOD.pop(key, None)
            raise
        _LAST_GOOD[key] = (time.monotonic(), dict(values))
        return values

    def _last_good(self, key: tuple, exc: ConnectionError) -> dict[str, str]:
        """The copy of ``key`` read within LAST_GOOD_SECONDS, with a warning; else the outage, named."""
        kept = _LAST_GOOD.get(key)
        age = time.monotonic() - kept[0] if kept else None
        if kept is None or age > LAST_GOOD_SECONDS:
            raise ConnectionError(f"{exc} (no copy of {self.kv_mount}/{key[2]} read in the last "
                                  f"{LAST_GOOD_SECONDS // 60} minutes to go on with)") from None
        log.warning("%s; going on with %s/%s as read %.0f s ago (kept up to %d s)", exc, self.kv_mount, key[2],
                    age, LAST_GOOD_SECONDS)
        return dict(kept[1])

    def _vault_values(self, vendor: str, role: str | None = None) -> dict[str, str]:
        import hvac.exceptions  # imported here: local runs without Vault never need it

        path = f"{self.vault_prefix}/{vendor}"
        if self.strict:
            refuse_plain_http(self.vault_addr)
        try:
            secret = self.read(role or vendor, lambda client: client.secrets.kv.v2.read_secret_version(
                path=path, mount_point=self.kv_mount, raise_on_deleted_version=True))
        except hvac.exceptions.InvalidPath as exc:
            _refuse_deleted_version(exc, f"{self.kv_mount}/{path}")
            self._refuse_kv_v1(self.client(role or vendor))
            log.info("Vault has no secret at %s/%s%s", self.kv_mount, path,
                     "" if self.strict else "; using environment variables")
            return {}
        except hvac.exceptions.Forbidden:
            raise PermissionError(self._denied(role or vendor, path)) from None
        except (PermissionError, ValueError, ConnectionError) as exc:
            import requests

            if not isinstance(exc, requests.RequestException):
                raise  # ours, already naming the fix (AppRole login refused or rate-limited, VAULT_TIMEOUT_SECONDS)
            # requests' InvalidHeader / InvalidURL / InvalidSchema are ValueErrors whose text quotes the
            # header (a VAULT_TOKEN with a pasted line break: the token itself) or the address
            raise ConnectionError(
                f"Vault at VAULT_ADDR cannot be asked ({type(exc).__name__}): check VAULT_ADDR (a URL with its "
                "scheme, host and port) and that VAULT_TOKEN holds no line break or space"
            ) from None
        except hvac.exceptions.VaultDown:
            raise ConnectionError(
                "Vault at VAULT_ADDR is sealed (or a standby answered), still after "
                f"{len(RETRY_WAITS) + 1} attempts over {sum(RETRY_WAITS):.0f} s: unseal it (bao operator unseal / "
                "vault operator unseal) or point VAULT_ADDR at the active node"
            ) from None
        except hvac.exceptions.RateLimitExceeded:
            raise ConnectionError(
                f"Vault at VAULT_ADDR rate-limited reading {self.kv_mount}/{path} (429), still after "
                f"{len(RETRY_WAITS) + 1} attempts over {sum(RETRY_WAITS):.0f} s: raise its rate-limit quota "
                "(sys/quotas/rate-limit) for this path or start fewer runs at once"
            ) from None
        except Exception as exc:  # requests' and hvac's text carries the address: only the type leaves
            raise ConnectionError(
                f"Vault at VAULT_ADDR is unreachable or failing ({type(exc).__name__}): start it, or "
                + (f"point VAULT_ADDR at it (PROJECTX_ENV={os.environ.get('PROJECTX_ENV')} reads secrets only "
                   "from Vault)" if self.strict else "unset VAULT_ADDR to use environment variables")
            ) from None
        data = (secret.get("data") or {}).get("data") if isinstance(secret, dict) else None
        if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
            # a proxy's or another service's JSON: raised bare (TypeError, 'NoneType' is not subscriptable)
            raise ConnectionError(
                f"Vault at VAULT_ADDR answered the read of {self.kv_mount}/{path} with JSON that is no KV version 2 "
                "secret (no data.data object): check that VAULT_ADDR is Vault's API address and VAULT_KV_MOUNT "
                f"({self.kv_mount}) a KV v2 mount")
        values = {k: v for k, v in ((k, _text(v, k, f"{self.kv_mount}/{path}"))
                                    for k, v in data.items()) if v is not None}
        from pipelines.common.entrypoint import remember_secret

        # not in the environment, so no secret variable names them: masked in error text all the same
        remember_secret(*(v for k, v in values.items() if k in SECRET_KEYS or _SECRET_KEY_NAME.search(k)))
        return values

    def _denied(self, role: str, path: str) -> str:
        """Why Vault answered 403: a token that is no longer valid (expired, revoked, mistyped: Vault says
        "permission denied" for it too) or, when the token can still look itself up, its policy."""
        import hvac.exceptions

        from resources.vault_auth import login_method

        if self._explicit_token or login_method(role) is None:  # a token, not a machine login
            try:
                self.client(role).auth.token.lookup_self()
            except hvac.exceptions.Forbidden:
                return (f"Vault refused VAULT_TOKEN reading {self.kv_mount}/{path}, and even looking itself up: "
                        f"the token is expired, revoked or mistyped: get a new one (bao login / vault login), or "
                        f"log in with the {role} AppRole (VAULT_{role.upper()}_ROLE_ID / _SECRET_ID)")
            except Exception:
                pass  # cannot tell: the policy is the likelier cause
        return (f"Vault denied reading {self.kv_mount}/{path}: check the policy of VAULT_TOKEN or of the "
                f"{role} AppRole (resources/vault_policies/{role}.hcl)")

    def read(self, role: str, request: Callable[[Any], T]) -> T:
        """``request(client)`` with ``role``'s logged-in client. An AppRole token revoked by an operator, or
        forgotten by a restarted Vault, is refused (403) long before its renewal is due: on a 403 the
        role logs in again once before the refusal is raised (then it is the policy's)."""
        return self._once_more_after_login(role, request)

    def write(self, role: str, request: Callable[[Any], T]) -> T:
        """A write by ``request(client)``, with the same one new login after a 403 as :meth:`read`. Vault
        refuses a revoked token before it writes anything, so sending the write again cannot apply it twice."""
        return self._once_more_after_login(role, request)

    def _once_more_after_login(self, role: str, request: Callable[[Any], T]) -> T:
        import hvac.exceptions

        from resources.vault_auth import retrying

        try:
            return retrying(lambda: request(self.client(role)))
        except hvac.exceptions.Forbidden:
            if not self._forget_login(role):
                raise
        return retrying(lambda: request(self.client(role)))

    def _forget_login(self, role: str) -> bool:
        """Drop this role's cached AppRole login (True if there was one to redo)."""
        if self._explicit_token:
            return False
        from resources.vault_auth import forget_login

        return forget_login(self.vault_addr, role)

    def _refuse_kv_v1(self, client) -> None:
        """A KV v1 mount answers every v2 read with 404, which looked like "no secrets here"."""
        try:
            mount = client.adapter.get(f"/v1/sys/internal/ui/mounts/{self.kv_mount}")["data"]
        except Exception:
            return  # cannot tell (no such mount, or no permission): keep the plain "not found"
        if mount.get("type") == "kv" and str((mount.get("options") or {}).get("version", "1")) == "1":
            raise ValueError(
                f"VAULT_KV_MOUNT={self.kv_mount} is a KV version 1 mount; the integrations read KV version 2 "
                f"(set dates live in its metadata): upgrade it (vault kv enable-versioning {self.kv_mount}) "
                "or point VAULT_KV_MOUNT at a KV v2 mount")


def _loopback(host: str) -> bool:
    """An IP address on the loopback network (``127.evil.example`` is a name, not one)."""
    import ipaddress

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def refuse_plain_http(addr: str | None) -> None:
    """stg/prod: a Vault reached over plain ``http://`` would carry the token and every secret unencrypted.
    Only a loopback address (a Vault Agent listener on the same host) may be plain."""
    from urllib.parse import urlsplit

    parts = urlsplit((addr or "").strip())
    host = (parts.hostname or "").lower()
    if parts.scheme.lower() == "https" or host == "localhost" or _loopback(host):
        return
    shown = f"plain http:// to {host}" if parts.scheme.lower() == "http" else "no https:// scheme"
    raise PermissionError(
        f"VAULT_ADDR has {shown}: PROJECTX_ENV="
        f"{os.environ.get('PROJECTX_ENV')} reads secrets only over https:// (the token and the secrets would "
        "cross the network unencrypted); set VAULT_ADDR=https://... (VAULT_CACERT for a private CA), or "
        "a Vault Agent on 127.0.0.1")


def _refuse_deleted_version(exc, where: str) -> None:
    """Vault answers 404 for a path whose latest version was deleted or destroyed, as for one that never
    existed; read as "no secret", stg/prod then blamed a missing base_url and local used the environment."""
    try:
        meta = exc.json["data"]["metadata"]
    except (AttributeError, KeyError, TypeError):
        return
    if not isinstance(meta, dict) or not (meta.get("deletion_time") or meta.get("destroyed")):
        return
    version = meta.get("version")
    how = "destroyed" if meta.get("destroyed") else f"deleted ({meta.get('deletion_time')})"
    fix = ("write the secret again (vault kv put, or vault kv rollback -version=<an older version>)"
           if meta.get("destroyed") else f"undelete it (vault kv undelete -versions={version} {where}) or "
           "write the secret again")
    raise ValueError(f"Vault {where}: its latest version {version} was {how}; its older versions are not read "
                     f"in its place: {fix}")


def _text(value, key: str, where: str) -> str | None:
    """A KV value as the text the clients use: null or blank is no value, numbers and booleans are their
    text, surrounding whitespace (a pasted trailing newline) is dropped. A nested object, or a control
    character inside (CR/LF would break or inject an HTTP header), is refused naming the key, never the value."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list) and ".pilot." in key and all(
            isinstance(v, str | int) and not isinstance(v, bool) and "," not in str(v) for v in value):
        # a pilot scope written as a JSON list (`["GRC", "OPS"]`) is its comma-separated text: refused, it made the
        # whole flags path unreadable, and a flag switched off beside it was ignored
        value = ",".join(str(v).strip() for v in value)
    if not isinstance(value, str):
        raise ValueError(f"Vault {where} key {key} holds a {type(value).__name__}, not a string: "
                         "write it as plain text")
    value = value.strip()
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError(f"Vault {where} key {key} contains a control character (a line break, tab or NUL) "
                         "inside its value: write it again as one line")
    return value or None
