"""Vault clients that log in and renew their short-lived tokens (spec §3.1).

Each connector logs in with its own role, so its token carries only that connector's policy
(``resources/vault_policies/<connector>.hcl``), by one of Vault's two machine logins:

- **Kubernetes** (the spec's: tokens derived from the pod's service account): ``VAULT_<CONNECTOR>_K8S_ROLE``
  (else the worker's ``VAULT_K8S_ROLE``) names the Vault role of the ``kubernetes`` auth method
  (``VAULT_K8S_MOUNT``); the service account token is read from ``VAULT_K8S_TOKEN_PATH`` (default the
  path Kubernetes mounts it at) at every login, since a projected token is replaced about hourly.
- **AppRole**: ``VAULT_<CONNECTOR>_ROLE_ID`` / ``_SECRET_ID``, else the worker's ``VAULT_ROLE_ID`` /
  ``VAULT_SECRET_ID``.

The connector's own setting wins over the worker's; at one level an AppRole wins over a Kubernetes role.
``VAULT_TOKEN`` still works (local use, operators). Tokens are renewed once half their TTL has passed,
and a fresh login replaces one that can no longer be renewed. Nothing here logs or raises a token, a
service account token, a role id or a secret id.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

_SESSIONS: dict[tuple[str, str], VaultLogin] = {}
_LOCK = threading.Lock()
_UNWRAP_LOCK = threading.Lock()
_UNWRAPPED: dict[str, str] = {}  # response-wrapping token -> the secret id it held (single-use: unwrapped once)


# A Vault or OpenBao token (a response-wrapping token is one), not an AppRole secret id (a UUID)
_TOKEN_SHAPE = re.compile(r"(hvs|hvb|s|b)\.[A-Za-z0-9_-]{20,}")
K8S_TOKEN_PATH = "/var/run/secrets/kubernetes.io/serviceaccount/token"
MAX_K8S_TOKEN_BYTES = 64 * 1024  # a service account token is a JWT of a few KiB


def _prefixes(role: str | None) -> list[str]:
    return ([f"VAULT_{role.upper()}_"] if role else []) + ["VAULT_"]


def approle_credentials(role: str | None) -> tuple[str, str] | None:
    """(role_id, secret_id) for a connector's AppRole from the environment, or None."""
    for prefix in _prefixes(role):
        if (found := approle_at(prefix)) is not None:
            return found
    return None


def approle_at(prefix: str) -> tuple[str, str] | None:
    role_id, secret_id = os.environ.get(prefix + "ROLE_ID"), os.environ.get(prefix + "SECRET_ID")
    return (role_id, secret_id) if role_id and secret_id else None


@dataclass(frozen=True)
class KubernetesLogin:
    """A Kubernetes auth login: the Vault role, the auth mount and where the service account token is."""

    vault_role: str
    mount: str
    token_path: str
    setting: str  # the variable that named the role, for error text

    def jwt(self) -> str:
        """The pod's service account token, read afresh (a projected token is rotated by the kubelet)."""
        try:
            with open(self.token_path, "rb") as f:
                raw = f.read(MAX_K8S_TOKEN_BYTES + 1)
        except OSError as exc:
            raise PermissionError(
                f"{self.setting} asks for a Kubernetes login, but the service account token at "
                f"VAULT_K8S_TOKEN_PATH ({self.token_path}) cannot be read ({exc.strerror or type(exc).__name__}): "
                "mount one (automountServiceAccountToken, or a projected serviceAccountToken volume) or set "
                "VAULT_K8S_TOKEN_PATH to where it is") from None
        token = raw.decode("ascii", "replace").strip()
        if len(raw) > MAX_K8S_TOKEN_BYTES or token.count(".") != 2 or any(c.isspace() for c in token):
            raise PermissionError(
                f"the file at VAULT_K8S_TOKEN_PATH ({self.token_path}) is not a service account token (a JWT: "
                "three dot-separated parts): point VAULT_K8S_TOKEN_PATH at the token Kubernetes mounts")
        return token


def kubernetes_login(role: str | None) -> KubernetesLogin | None:
    """The Kubernetes login a connector's settings ask for (``VAULT_<CONNECTOR>_K8S_ROLE``, else
    ``VAULT_K8S_ROLE``), or None; an AppRole set at the same level wins (see :func:`login_method`)."""
    for prefix in _prefixes(role):
        if (found := kubernetes_at(prefix)) is not None:
            return found
    return None


def kubernetes_at(prefix: str) -> KubernetesLogin | None:
    vault_role = (os.environ.get(prefix + "K8S_ROLE") or "").strip()
    if not vault_role:
        return None
    return KubernetesLogin(vault_role, (os.environ.get("VAULT_K8S_MOUNT") or "kubernetes").strip("/ "),
                           os.environ.get("VAULT_K8S_TOKEN_PATH") or K8S_TOKEN_PATH, prefix + "K8S_ROLE")


def login_method(role: str | None) -> tuple[str, str] | KubernetesLogin | None:
    """How ``role`` logs in: its AppRole's (role_id, secret_id), a :class:`KubernetesLogin`, or None (a
    token). The connector's own settings win over the worker's; at one level an AppRole wins."""
    for prefix in _prefixes(role):
        found = approle_at(prefix) or kubernetes_at(prefix)
        if found is not None:
            return found
    return None


def _cache_key(method: tuple[str, str] | KubernetesLogin) -> str:
    if isinstance(method, KubernetesLogin):
        return f"k8s:{method.mount}:{method.vault_role}:{method.token_path}"
    return method[0]


class VaultLogin:
    """One machine login (AppRole or Kubernetes): a client whose token is renewed (or re-issued) before
    it lapses."""

    def __init__(self, addr: str, role_id: str = "", secret_id: str = "", *, role: str = "",
                 clock: Callable[[], float] = time.monotonic, kubernetes: KubernetesLogin | None = None):
        self.addr, self.role = addr, role
        self._creds = (role_id, secret_id)
        self._kubernetes = kubernetes
        self._clock = clock
        self._client = None
        self._issued_at = self._ttl = 0.0
        self.renewals = self.logins = 0

    def _ask(self, client) -> dict:
        k8s = self._kubernetes
        if k8s is None:
            if _TOKEN_SHAPE.fullmatch(self._creds[1]):  # kept for this process: a new login needs it again
                wrapped = self._creds[1]
                with _UNWRAP_LOCK:  # not _LOCK: vault_client() holds that while logging in
                    unwrapped = _UNWRAPPED.get(wrapped)
                if unwrapped is None:
                    unwrapped = self._unwrap(wrapped)
                    with _UNWRAP_LOCK:
                        _UNWRAPPED[wrapped] = unwrapped
                self._creds = (self._creds[0], unwrapped)
            return client.auth.approle.login(role_id=self._creds[0], secret_id=self._creds[1])
        return client.auth.kubernetes.login(k8s.vault_role, k8s.jwt(), mount_point=k8s.mount)

    def _unwrap(self, wrapping_token: str) -> str:
        """The secret id inside a response-wrapping token (``vault write -wrap-ttl=… -f
        auth/approle/role/<role>/secret-id``, as a trusted orchestrator hands it over), unwrapped once; the
        token is single-use, so a second unwrap, by anyone, is refused and said so."""
        import hvac.exceptions

        setting = f"VAULT_{self.role.upper()}_SECRET_ID or VAULT_SECRET_ID" if self.role else "VAULT_SECRET_ID"
        try:
            answer = retrying(lambda: new_client(self.addr, wrapping_token).adapter.post("/v1/sys/wrapping/unwrap"))
        except (hvac.exceptions.InvalidRequest, hvac.exceptions.Forbidden, hvac.exceptions.Unauthorized):
            raise PermissionError(
                f"{setting} holds a response-wrapping token that Vault no longer knows: it expired (its wrap "
                "TTL) or was already unwrapped, by this worker's last start or by someone else (a wrapped "
                "secret id is single-use: if no start of yours used it, find who did); issue a new secret id "
                "(python -m cli vault setup)") from None
        secret_id = ((answer.get("data") or {}) if isinstance(answer, dict) else {}).get("secret_id")
        if not isinstance(secret_id, str) or not secret_id:
            raise PermissionError(f"{setting} holds a response-wrapping token that wraps no AppRole secret id: "
                                  "wrap the answer of auth/approle/role/<role>/secret-id")
        return secret_id

    def _refused(self, exc) -> PermissionError:
        k8s = self._kubernetes
        if k8s is None:
            who = f"VAULT_{self.role.upper()}_ROLE_ID/SECRET_ID or " if self.role else ""
            return PermissionError(
                f"Vault refused the AppRole login ({type(exc).__name__}): check {who}VAULT_ROLE_ID / "
                "VAULT_SECRET_ID, that the secret id has not expired (the role's secret_id_ttl) or used up its "
                "uses, and that the role exists (python -m cli vault setup issues new ones)")
        return PermissionError(
            f"Vault refused the Kubernetes login as role {k8s.vault_role!r} ({k8s.setting}) on auth mount "
            f"{k8s.mount!r} ({type(exc).__name__}): check that the role exists and is bound to this pod's "
            "service account and namespace (python -m cli vault setup --kubernetes-namespace), and that "
            "Vault can reach the cluster's TokenReview API")

    def _login(self):
        import hvac
        import hvac.exceptions

        client = new_client(self.addr)
        kind = "Kubernetes" if self._kubernetes else "AppRole"
        try:
            auth = retrying(lambda: self._ask(client))["auth"]
        except hvac.exceptions.InternalServerError:
            raise ConnectionError(
                f"Vault at VAULT_ADDR answered the {kind} login 500: "
                + ("its kubernetes auth method may have no configuration (python -m cli vault setup "
                   "--kubernetes-namespace writes it) or cannot reach the cluster's API; "
                   if self._kubernetes else "see Vault's log; ") + "the credentials were not refused") from None
        except (hvac.exceptions.RateLimitExceeded, hvac.exceptions.VaultDown) as exc:
            limited = isinstance(exc, hvac.exceptions.RateLimitExceeded)
            raise ConnectionError(
                f"Vault at VAULT_ADDR answered the {kind} login "
                f"{'429 (rate-limited)' if limited else '503 (sealed, or a standby)'}, still after "
                f"{len(RETRY_WAITS) + 1} attempts: unseal it or raise its rate-limit quota; the credentials were "
                "not refused") from None
        except (hvac.exceptions.InvalidRequest, hvac.exceptions.Unauthorized, hvac.exceptions.Forbidden) as exc:
            raise self._refused(exc) from None  # 400 (no such role, wrong secret id), 401, 403: a refusal
        except hvac.exceptions.VaultError as exc:  # a proxy's 502/504, a 404 of a wrong path: not the credentials
            raise ConnectionError(
                f"Vault at VAULT_ADDR answered the {kind} login with {type(exc).__name__}, not Vault's refusal or "
                "a token: check that VAULT_ADDR is Vault's own API address (a proxy in front of it may be failing, "
                f"or the {kind} auth method is not enabled at its mount); the credentials were not refused") from None
        self._client, self._ttl, self._issued_at = client, float(auth["lease_duration"]), self._clock()
        self.logins += 1
        return client

    def client(self):
        """A client with a valid token: renewed past half its TTL, re-logged-in if renewal fails."""
        if self._client is None:
            return self._login()
        age = self._clock() - self._issued_at
        if self._ttl and age >= self._ttl * 0.5:
            try:
                auth = self._client.auth.token.renew_self()["auth"]
                self._ttl, self._issued_at = float(auth["lease_duration"]), self._clock()
                self.renewals += 1
                if self._ttl < 5:  # at its max TTL: renewal gives almost nothing, log in again
                    return self._login()
            except Exception:
                return self._login()
        return self._client


# Waits before asking Vault again after a 429 (a rate-limit quota) or a 503 (sealed, a standby, a leader
# election): five attempts within about 4 s, then the caller names the cause.
RETRY_WAITS = (0.25, 0.5, 1.0, 2.0)


def retrying(request: Callable[[], T], sleep: Callable[[float], None] = time.sleep) -> T:
    """``request()``, asked again after Vault answers 429 or 503 (Vault refuses such a request before
    acting on it, so a write is not applied twice)."""
    import hvac.exceptions

    for wait in (*RETRY_WAITS, None):
        try:
            return request()
        except (hvac.exceptions.RateLimitExceeded, hvac.exceptions.VaultDown):
            if wait is None:
                raise
            sleep(wait)
    raise AssertionError("unreachable")


def vault_timeout() -> float:
    """Seconds one Vault request may take (``VAULT_TIMEOUT_SECONDS``, default 5; hvac's own is 30), so a
    Vault that accepts connections and never answers stalls a flag read or the health page that long only."""
    raw = os.environ.get("VAULT_TIMEOUT_SECONDS", "").strip()
    try:
        value = float(raw) if raw else 5.0
    except ValueError:
        value = -1.0
    if not 0 < value <= 300:
        raise ValueError(f"VAULT_TIMEOUT_SECONDS={raw!r}: use a number of seconds above 0 (default 5)")
    return value


def forget_login(addr: str | None, role: str | None) -> bool:
    """Forget the cached login of ``role`` so the next :func:`vault_client` logs in afresh (its token
    was revoked, or Vault restarted); False when that role logs in with a token, not a machine login."""
    method = login_method(role)
    if method is None or addr is None:
        return False
    with _LOCK:
        return _SESSIONS.pop((addr, _cache_key(method)), None) is not None


def vault_client(addr: str, role: str | None = None, token: str | None = None, *, strict: bool = False):
    """A logged-in hvac client: ``role``'s AppRole or Kubernetes login when configured, else ``token`` /
    VAULT_TOKEN.

    ``strict`` (stg/prod): with neither, no token is sent and the error names the variables; hvac would
    otherwise take ``~/.vault-token``, whatever an operator last logged in with on that host (often a root
    or admin token), and read every connector's secrets with it."""
    method = login_method(role)
    if method is None:
        token = token if token is not None else (os.environ.get("VAULT_TOKEN") or "").strip()
        if strict and not token:
            who = f"VAULT_{role.upper()}_ROLE_ID / VAULT_{role.upper()}_SECRET_ID (or " if role else "("
            k8s = f"VAULT_{role.upper()}_K8S_ROLE or " if role else ""
            raise PermissionError(
                f"no Vault credentials for {role or 'this worker'}: set {who}VAULT_ROLE_ID / VAULT_SECRET_ID), "
                f"from python -m cli vault setup --out, or on Kubernetes {k8s}VAULT_K8S_ROLE; stg/prod do not use "
                "a token left in ~/.vault-token")
        return new_client(addr, token or None)
    key = (addr, _cache_key(method))
    with _LOCK:
        login = _SESSIONS.get(key)
        if login is None:
            login = _SESSIONS[key] = (
                VaultLogin(addr, role=role or "", kubernetes=method) if isinstance(method, KubernetesLogin)
                else VaultLogin(addr, *method, role=role or ""))
        return login.client()


def new_client(addr: str | None, token: str | None = None):
    """An hvac client for ``addr`` whose requests are bounded by ``VAULT_TIMEOUT_SECONDS``, follow no
    redirect off ``addr`` (see :func:`resources.vault_http.vault_session`), and go to ``VAULT_NAMESPACE``
    when set (the Vault CLI's variable; hvac does not read it, and every path was looked up in the root
    namespace: "no secret", or a login refused)."""
    import hvac

    from resources.vault_http import vault_session

    timeout = vault_timeout()
    return hvac.Client(url=addr, token=token, timeout=timeout, session=vault_session(timeout),
                       namespace=vault_namespace(), verify=vault_ca())


def vault_ca() -> str | bool:
    """The CA that verifies Vault's certificate: ``VAULT_CACERT`` (a file), else ``VAULT_CAPATH`` (a directory),
    read now (hvac reads them once, when it is imported), else the system's. One that does not exist is named:
    requests' error for it said only "unreachable"."""
    for name, is_ok in (("VAULT_CACERT", os.path.isfile), ("VAULT_CAPATH", os.path.isdir)):
        value = (os.environ.get(name) or "").strip()
        if value:
            if not is_ok(value):
                raise ValueError(f"{name}={value} is not a {'file' if name == 'VAULT_CACERT' else 'directory'}: "
                                 "point it at the CA certificate that signed Vault's (PEM)")
            return value
    return True


def vault_namespace() -> str | None:
    """``VAULT_NAMESPACE`` without surrounding slashes, or None; one with a character no header carries is
    refused naming it (its text is not quoted: it may be a value pasted into the wrong variable)."""
    raw = (os.environ.get("VAULT_NAMESPACE") or "").strip().strip("/")
    if not raw:
        return None
    if any(ord(c) < 33 or ord(c) >= 127 for c in raw):
        raise ValueError(f"VAULT_NAMESPACE ({len(raw)} characters) holds a space, line break or other character "
                         "no namespace path has: set it to the namespace path, such as grc or admin/grc")
    return raw
