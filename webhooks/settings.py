"""Receiver settings, read once from the environment; the endpoint secrets at start-up and then every
``secret_refresh_seconds`` (a rotated secret takes effect without a restart; the old one verifies for
``secret_grace_seconds``).

Grain: one process. Secrets are held in memory only; ``describe()`` never shows them. Limits and the
replay window: ``PROJECTX_WEBHOOK_RATE_*``, ``_BYTES_PER_SECOND`` / ``_BYTES_BURST`` (whole bytes, a rate
of 0 turning the byte budget off; the burst at least ``WEBHOOK_MAX_BODY_BYTES``), ``_FAILURE_*``,
``_TRUSTED_PROXIES``, ``_REPLAY_WINDOW_SECONDS`` (see the fields below and ``webhooks.receiver.limits``); a
malformed value stops the start-up naming it.

Connections (``webhooks.receiver.connections`` and ``.server``; each a start-up error naming the fix when
malformed, e.g. ``PROJECTX_WEBHOOK_MAX_CONNECTIONS='lots': use a whole number of 0 or more``):

- ``PROJECTX_WEBHOOK_MAX_CONNECTIONS_PER_ADDRESS`` (128; 0: no cap): TCP connections one client address
  (an IPv6 /64) may hold open, idle or not. Twice ``max_in_flight_per_sender``: a vendor's pool has its
  bodies in flight and as many idle keep-alive connections. Past it a new connection is answered 429
  and closed before a byte is read, so one address flooding idle or slowloris connections starves only
  itself. A trusted proxy's address has no per-address cap.
- ``PROJECTX_WEBHOOK_MAX_CONNECTIONS`` (1024; 0: no cap): connections in all. When full, a newcomer takes
  the slot of an idle (or still-sending-its-head) connection of the address holding the most, if that
  is more than the newcomer's address; else 503. Lowered, with a warning, to what the open-file limit
  allows (less 64 spare descriptors).
- ``PROJECTX_WEBHOOK_KEEP_ALIVE_SECONDS`` (5, uvicorn's default; 0-300): how long an idle keep-alive
  connection is kept after an answer.
- ``PROJECTX_WEBHOOK_HEAD_TIMEOUT_SECONDS`` (10; above 0, at most 300): from a connection's start, or a
  request's first byte, to the end of its headers (408 and closed; also the most a connection that sends
  nothing is kept).

Secrets (:func:`load_secrets`): the receiver's own Vault path ``integrations/<env>/webhooks``, one key per
endpoint (``VAULT_KEYS``: the env var's name in lower case), read with the ``webhooks`` AppRole
(``VAULT_WEBHOOKS_ROLE_ID`` / ``_SECRET_ID``, policy ``resources/vault_policies/webhooks.hcl``). Locally
the env var is the fallback (and the only source without ``VAULT_ADDR``); in ``stg``/``prod`` only Vault
counts, and a missing key stops the start-up with an error naming the path and the key.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from pipelines.common.envvars import shown
from pipelines.common.warehouse import REPO_ROOT, WarehouseSettings

MIB = 1024 * 1024
SECRET_ENV = {
    "servicenow": "SERVICENOW_WEBHOOK_SECRET",
    "jira": "JIRA_WEBHOOK_SECRET",
    "generic": "GENERIC_WEBHOOK_SECRET",
    "slack": "SLACK_SIGNING_SECRET",
}
VAULT_PATH = "webhooks"  # integrations/<env>/webhooks
VAULT_KEYS = {name: env.lower() for name, env in SECRET_ENV.items()}  # e.g. jira -> jira_webhook_secret


class MissingWebhookSecret(RuntimeError):
    """stg/prod: an endpoint secret is not in Vault; the message names the path and keys, never a value."""


def load_secrets() -> dict[str, str | None]:
    """Endpoint -> secret, from Vault (``integrations/<env>/webhooks``) with the env var as the local fallback.

    Raises ``PermissionError`` in stg/prod without ``VAULT_ADDR`` or when Vault refuses the read, and
    :class:`MissingWebhookSecret` there when a key is absent."""
    from resources.environment import current_environment
    from resources.secrets import SecretStore

    env = current_environment()
    store = SecretStore(env.vault_prefix)
    values = store.vendor(VAULT_PATH)  # stg/prod: Vault only (env vars are ignored for secret keys)
    secrets = {name: values.get(key) or None for name, key in VAULT_KEYS.items()}
    missing = [VAULT_KEYS[name] for name, value in secrets.items() if not value]
    if store.strict and missing:
        raise MissingWebhookSecret(
            f"PROJECTX_ENV={env.name}: the webhook receiver reads its secrets only from Vault, and "
            f"{store.kv_mount}/{env.vault_prefix}/{VAULT_PATH} has no {', '.join(missing)}. Write "
            f"{'it' if len(missing) == 1 else 'them'} there (an operator's token), then start the receiver "
            f"again; environment variables are not used in {env.name}.")
    return secrets


@dataclass(frozen=True)
class WebhookSettings:
    """Where the inbox lives, the per-endpoint secrets and the request limits."""

    inbox_kind: str = "sqlite"  # sqlite (default) or postgres (when PROJECTX_WAREHOUSE=postgres)
    sqlite_path: str = str(REPO_ROOT / "data" / "webhooks" / "inbox.sqlite3")
    synchronous: str = "FULL"  # SQLite PRAGMA synchronous: FULL fsyncs every commit before the 2xx
    pg: WarehouseSettings | None = None
    # endpoint -> secret; None until ``resolved()`` reads them (the receiver does, at start-up)
    secrets: dict[str, str | None] | None = field(default=None, repr=False)
    max_body_bytes: int = MIB
    tolerance_seconds: int = 300
    body_timeout_seconds: float = 30.0  # a body not complete this long after its headers: 408 (slow senders)
    rejections_per_minute: int = 600  # rejection records kept per minute; the counters count them all
    # Rotation without a restart: the receiver re-reads its secrets this often (0: never; only when it
    # read them itself, not when they were given), and a replaced secret still verifies for the grace
    # period, so deliveries signed before the vendor side was updated are not lost.
    secret_refresh_seconds: float = 60.0
    secret_grace_seconds: float = 3600.0
    # A signed body already accepted this recently is a replay whatever delivery id it carries (on the
    # endpoints whose id is not signed: ServiceNow, Jira). At least twice tolerance_seconds: a ServiceNow
    # timestamp is accepted up to that far from its own, so a copy lives that long.
    replay_window_seconds: float = 30 * 86400.0
    # Per sender (endpoint x client address) token buckets; a rate of 0 turns that limit off.
    rate_per_second: float = 100.0  # verified deliveries: sustained rate (the receiver takes 500+/s) ...
    rate_burst: int = 2000  # ... and the burst a vendor may send at once (a bulk update)
    # ... and their body bytes (a rate of 0: off). Without it one sender wrote 100 x max_body_bytes
    # (100 MiB) a second. 10 MiB/s is 100 deliveries a second of 100 KiB each, so for a vendor whose bodies
    # average less the delivery rate binds first (ServiceNow and Slack send a few KiB, a Jira issue event
    # with its changelog tens of KiB [unc]); 256 MiB lets the 2000-delivery burst average 128 KiB each.
    bytes_per_second: int = 10 * MIB
    bytes_burst: int = 256 * MIB
    # Requests refused before verification, or replays: one a second after a first 200. Enough for an
    # operator (or a scanner of our own) probing the endpoint with malformed requests to get the real
    # 400/401/413 answers; a flood gets 429 and costs a counter, not a rejection row, per request.
    failure_rate_per_second: float = 1.0
    failure_burst: int = 200
    rate_max_senders: int = 10_000  # senders tracked per bucket kind; the least recently seen is forgotten
    # Bodies being read at once, per sender and in all: each holds up to max_body_bytes for up to
    # body_timeout_seconds, so a sender opening thousands of slow connections held gigabytes. Over the
    # sender's cap: 429; over the total: 503 (both with Retry-After, before a byte of the body is read).
    # A body read is no longer counted (a fast sender's bodies are read in microseconds).
    max_in_flight_per_sender: int = 64
    max_in_flight: int = 512
    # Open connections (see the module docstring): per client address and in all, 0 turning a cap off
    max_connections_per_address: int = 128
    max_connections: int = 1024
    keep_alive_seconds: float = 5.0  # uvicorn's timeout_keep_alive
    head_timeout_seconds: float | None = None  # None: webhooks.receiver.server.HEAD_TIMEOUT (10 s)
    # Reverse proxies whose X-Forwarded-For is believed (addresses or CIDR networks); none by default
    trusted_proxies: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, **overrides) -> WebhookSettings:
        wh = WarehouseSettings.from_env()
        data_dir = Path(os.environ.get("PROJECTX_DATA_DIR", str(REPO_ROOT / "data")))
        settings = cls(
            inbox_kind="postgres" if wh.kind == "postgres" else "sqlite",
            sqlite_path=os.environ.get("PROJECTX_WEBHOOK_INBOX", str(data_dir / "webhooks" / "inbox.sqlite3")),
            synchronous=os.environ.get("PROJECTX_WEBHOOK_SYNCHRONOUS", "FULL").upper(),
            pg=wh if wh.kind == "postgres" else None,
            max_body_bytes=int(_number("WEBHOOK_MAX_BODY_BYTES", MIB)),
            secret_refresh_seconds=_number("WEBHOOK_SECRET_REFRESH_SECONDS", 60),
            secret_grace_seconds=_number("WEBHOOK_SECRET_GRACE_SECONDS", 3600),
            replay_window_seconds=_number("PROJECTX_WEBHOOK_REPLAY_WINDOW_SECONDS", cls.replay_window_seconds),
            rate_per_second=_number("PROJECTX_WEBHOOK_RATE_PER_SECOND", cls.rate_per_second),
            rate_burst=int(_number("PROJECTX_WEBHOOK_RATE_BURST", cls.rate_burst)),
            failure_rate_per_second=_number("PROJECTX_WEBHOOK_FAILURE_RATE_PER_SECOND", cls.failure_rate_per_second),
            failure_burst=int(_number("PROJECTX_WEBHOOK_FAILURE_BURST", cls.failure_burst)),
            rate_max_senders=int(_number("PROJECTX_WEBHOOK_RATE_MAX_SENDERS", cls.rate_max_senders)),
            bytes_per_second=_count("PROJECTX_WEBHOOK_BYTES_PER_SECOND", cls.bytes_per_second, MAX_BYTES),
            bytes_burst=_count("PROJECTX_WEBHOOK_BYTES_BURST", -1, MAX_BYTES),  # -1: unset (see _byte_budget)
            max_in_flight_per_sender=int(_number("PROJECTX_WEBHOOK_MAX_IN_FLIGHT_PER_SENDER",
                                                  cls.max_in_flight_per_sender)),
            max_in_flight=int(_number("PROJECTX_WEBHOOK_MAX_IN_FLIGHT", cls.max_in_flight)),
            trusted_proxies=_networks("PROJECTX_WEBHOOK_TRUSTED_PROXIES"),
            max_connections_per_address=_count("PROJECTX_WEBHOOK_MAX_CONNECTIONS_PER_ADDRESS",
                                               cls.max_connections_per_address),
            max_connections=_count("PROJECTX_WEBHOOK_MAX_CONNECTIONS", cls.max_connections),
            keep_alive_seconds=_seconds("PROJECTX_WEBHOOK_KEEP_ALIVE_SECONDS", cls.keep_alive_seconds, zero=True),
            head_timeout_seconds=_seconds("PROJECTX_WEBHOOK_HEAD_TIMEOUT_SECONDS", None, zero=False),
        )
        settings = replace(settings, **overrides) if overrides else settings
        if settings.replay_window_seconds < 2 * settings.tolerance_seconds:
            raise ValueError(f"PROJECTX_WEBHOOK_REPLAY_WINDOW_SECONDS={settings.replay_window_seconds:g} is shorter "
                             f"than a signed timestamp stays valid: use at least {2 * settings.tolerance_seconds} "
                             "(twice the timestamp tolerance), or unset it for 30 days")
        return _byte_budget(settings, cls.bytes_burst)

    def resolved(self) -> WebhookSettings:
        """These settings with the endpoint secrets read (:func:`load_secrets`), unless already given; a
        secret that cannot verify anything (:func:`secret_problems`) is a ValueError naming the fix."""
        out = self if self.secrets is not None else replace(self, secrets=load_secrets())
        problems = secret_problems(out.secrets)
        if problems:
            raise ValueError("; ".join(problems.values()))
        return out

    def describe(self) -> str:
        where = self.sqlite_path if self.inbox_kind == "sqlite" else f"postgres {self.pg.pg_database} (schema webhooks)"
        configured = ", ".join(f"{k} {'set' if v else 'MISSING'}" for k, v in sorted((self.secrets or {}).items()))
        return f"inbox {self.inbox_kind} at {where}; secrets: {configured}"


def secret_problems(secrets: dict[str, str | None]) -> dict[str, str]:
    """Endpoint -> what is wrong with its secret, naming the env var and Vault key (never the value)."""
    from webhooks.receiver.verify import secret_problem

    out = {}
    for name, value in secrets.items():
        problem = secret_problem(name, value) if name in SECRET_ENV else None
        if problem:
            out[name] = f"{SECRET_ENV[name]} (Vault key {VAULT_KEYS[name]}) {problem}"
    return out


def _number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return float(default)
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise ValueError(f"{name}={shown(raw)}: use a number of 0 or more")
    return value


def _networks(name: str) -> tuple[str, ...]:
    """Comma-separated addresses or CIDR networks, each checked here so a typo stops the start-up."""
    out = []
    for item in filter(None, (part.strip() for part in os.environ.get(name, "").split(","))):
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ValueError(f"{name}: {shown(item)} is not an IP address or network (e.g. 10.0.0.0/8, 192.0.2.7)") \
                from None
        out.append(item)
    return tuple(out)


MAX_BYTES = 1 << 40  # 1 TiB: past it a byte budget is off in all but name, and past 2**1024 a float overflows


def _count(name: str, default: int, most: int | None = None) -> int:
    """A whole number of 0 or more (0 turns the cap off), at most ``most``; unset or blank: ``default``."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    text = raw.strip()
    if not text.isascii() or not text.isdigit() or (most is not None and len(text) > len(str(most))) or \
            (most is not None and int(text) > most):
        bound = "" if most is None else f" up to {most}"
        raise ValueError(f"{name}={shown(raw)}: use a whole number of 0 or more{bound} (0 turns the cap off), or "
                         f"unset it for {'its default' if default < 0 else default}")
    return int(text)


def _byte_budget(settings: WebhookSettings, default_burst: int) -> WebhookSettings:
    """The byte budget checked against the body limit. Only the rate turns it off (``0``), as with the other
    budgets; an unset burst is the default or one largest body, whichever is more, so raising
    ``WEBHOOK_MAX_BODY_BYTES`` alone still starts. A rate so low that one largest body waits over an hour
    is refused: a vendor gives up on such a Retry-After."""
    rate, burst, body = settings.bytes_per_second, settings.bytes_burst, settings.max_body_bytes
    if burst < 0:
        burst = max(default_burst, body)
    if rate and burst < body:
        reason = "gives no room for any delivery" if burst == 0 else "is less than one body may hold"
        raise ValueError(f"PROJECTX_WEBHOOK_BYTES_BURST={burst} {reason}: use at least {body} "
                         f"(WEBHOOK_MAX_BODY_BYTES) or unset it; to turn the byte budget off set "
                         "PROJECTX_WEBHOOK_BYTES_PER_SECOND=0")
    if rate and rate * 3600 < body:
        raise ValueError(f"PROJECTX_WEBHOOK_BYTES_PER_SECOND={rate} makes a {body}-byte body (WEBHOOK_MAX_BODY_BYTES) "
                         f"wait over an hour for its Retry-After: use at least {-(-body // 3600)}, unset it for "
                         f"{WebhookSettings.bytes_per_second}, or 0 to turn the byte budget off")
    return replace(settings, bytes_burst=burst)


MAX_TIMEOUT_SECONDS = 300.0


def _seconds(name: str, default: float | None, *, zero: bool) -> float | None:
    """Seconds, up to ``MAX_TIMEOUT_SECONDS``; 0 only when ``zero``. Unset or blank: ``default``."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    low = 0.0 if zero else 0.001
    if not low <= value <= MAX_TIMEOUT_SECONDS:  # also nan and inf
        span = "0 to" if zero else "more than 0 and at most"
        unset = f"{default:g}" if default is not None else "10"
        raise ValueError(f"{name}={shown(raw)}: use {span} {MAX_TIMEOUT_SECONDS:g} seconds, or unset it for {unset}")
    return value
