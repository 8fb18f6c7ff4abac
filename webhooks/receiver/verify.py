"""Signature schemes, one function per vendor: ``(secret, body, headers, now, tolerance) -> reason | None``.

``None`` means verified; otherwise the reason counted in ``webhook_failures_total`` (never shown to
the sender). Every comparison is constant-time. Schemes:

- ServiceNow (ours; ServiceNow has no standard one): ``X-ServiceNow-Timestamp: <unix seconds>`` and
  ``X-ServiceNow-Signature: v1=<hex HMAC-SHA256(SERVICENOW_WEBHOOK_SECRET, "<timestamp>." + raw body)>``
  (hex in either case, here and for Jira; or the same 32 bytes in standard base64, as
  ``GlideCertificateEncryption.generateMac`` returns a MAC [unc]),
  delivery id in ``X-ServiceNow-Delivery`` (stable across retries). A business rule computes it with
  ``GlideCertificateEncryption``/``GlideDigest`` or an IntegrationHub signing credential; see README.
- Jira admin webhooks: ``X-Hub-Signature: sha256=<hex HMAC-SHA256(JIRA_WEBHOOK_SECRET, raw body)>``.
  Jira signs no timestamp header, so there is no 5-minute window: redeliveries dedupe on
  ``X-Atlassian-Webhook-Identifier``, a copy of a signed body under a new identifier is refused as
  a replay within ``replay_window_seconds``, and a body whose own (signed) ``timestamp`` is older than
  that window is refused as stale (the receiver; ServiceNow's unsigned id the same way).
- Generic partners: Standard Webhooks (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``)
  with ``GENERIC_WEBHOOK_SECRET`` (``whsec_<base64>``, decoded by the ``standardwebhooks`` package): the MAC
  over the raw body bytes, compared against every ``v1,<base64>`` entry of ``webhook-signature``
  (see ``_v1_signatures``).
- Slack: ``X-Slack-Signature: v0=<hex>`` over ``v0:<timestamp>:<raw body>`` with ``SLACK_SIGNING_SECRET``
  (slack_sdk's ``SignatureVerifier`` computes the same MAC, but over the body decoded as UTF-8).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
from collections.abc import Callable, Mapping

from standardwebhooks.webhooks import Webhook

Verifier = Callable[[str, bytes, Mapping[str, str], float, int], "str | None"]
MAX_SIGNATURES = 8  # v1 entries looked at in one webhook-signature header
MAX_TIMESTAMP_DIGITS = 12  # unix seconds: 10 digits until the year 2286


def _timestamp_reason(raw: str | None, now: float, tolerance: int) -> str | None:
    """Timestamps are ASCII unix seconds, digits only: not "+1", " 1", "1_0", "1.5", other scripts' digits,
    or so many digits that ``now - ts`` overflows a float (that was a 500)."""
    if not raw:
        return "missing_signature"
    if not (raw.isascii() and raw.isdigit() and len(raw) <= MAX_TIMESTAMP_DIGITS):
        return "bad_timestamp"
    return "stale_timestamp" if abs(now - int(raw)) > tolerance else None


def servicenow_signature(secret: str, timestamp: str, body: bytes) -> str:
    """The header value a ServiceNow sender puts in ``X-ServiceNow-Signature``."""
    return "v1=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify_servicenow(secret: str, body: bytes, headers: Mapping[str, str], now: float, tolerance: int) -> str | None:
    signature, timestamp = headers.get("x-servicenow-signature"), headers.get("x-servicenow-timestamp")
    if not signature:
        return "missing_signature"
    reason = _timestamp_reason(timestamp, now, tolerance)
    if reason:
        return reason
    expected = servicenow_signature(secret, timestamp, body)
    if _hex_matches(expected, signature, "v1=") or _base64_matches(expected, signature, "v1="):
        return None
    return "bad_signature"


def jira_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_jira(secret: str, body: bytes, headers: Mapping[str, str], now: float, tolerance: int) -> str | None:
    signature = headers.get("x-hub-signature")
    if not signature:
        return "missing_signature"
    return None if _hex_matches(jira_signature(secret, body), signature, "sha256=") else "bad_signature"


def _hex_matches(expected: str, given: str, prefix: str) -> bool:
    """``given`` is ``prefix`` (exactly) then the hex of ``expected``'s digest in either case: hex is a
    representation (RFC 4648's base16 is upper case; sender helpers print either [unc]). Constant-time."""
    given = given.strip()
    if not (given.isascii() and given.startswith(prefix)):  # lower() maps no other character into a-f
        return False
    return hmac.compare_digest(expected.encode(), (prefix + given[len(prefix):].lower()).encode())


def _base64_matches(expected: str, given: str, prefix: str) -> bool:
    """``given`` is ``prefix`` then ``expected``'s digest (hex after its prefix) in standard, padded base64:
    a ServiceNow script's ``GlideCertificateEncryption().generateMac(key, "HmacSHA256", data)`` gives
    that [unc], and a business rule can send it as it comes. Constant-time; anything else is no match."""
    given = given.strip()
    if not (given.isascii() and given.startswith(prefix)) or len(given) - len(prefix) != 44:
        return False
    try:
        mac = base64.b64decode(given[len(prefix):], validate=True)
    except ValueError:
        return False
    return hmac.compare_digest(bytes.fromhex(expected[len(prefix):]), mac)


def verify_generic(secret: str, body: bytes, headers: Mapping[str, str], now: float, tolerance: int) -> str | None:
    wanted = {k: headers.get(k) for k in ("webhook-id", "webhook-timestamp", "webhook-signature")}
    if not all(wanted.values()):
        return "missing_signature"
    reason = _timestamp_reason(wanted["webhook-timestamp"], now, tolerance)
    if reason:
        return reason
    # the spec signs "<id>.<timestamp>.<raw body bytes>" (what the package's sign() does after encoding its text):
    # over the bytes, a signed body that is not UTF-8 verifies and is then kept in quarantine as malformed (it
    # was refused as bad_signature, counted by the security alert and not kept)
    # and over the id's bytes as sent: a UTF-8 id, read as Latin-1 and encoded again, was a bad_signature (401, a lead
    # for the security alert) although the sender's MAC was right. A sender that signs its id's text as UTF-8 but
    # sends the header in Latin-1 (Python's http.client, hence requests, encodes header text so) still verifies:
    # both readings of the one id are tried, each a MAC under the same key.
    # The second reading is taken only when the bytes sent are not UTF-8: the MAC then always covers the text the
    # id is stored as (endpoints.header_text), so one signature cannot pass under two stored ids (a replay of
    # "msg_\u00c3\u00a9" sent as c3 a9 would otherwise verify and be kept as the new id "msg_\u00e9").
    sent = header_bytes(wanted["webhook-id"])
    ids = {sent}
    try:
        sent.decode("utf-8")
    except UnicodeDecodeError:
        ids.add(wanted["webhook-id"].encode("utf-8"))
    rest = f".{int(wanted['webhook-timestamp'])}.".encode() + body
    given = _v1_signatures(wanted["webhook-signature"])
    for id_bytes in ids:
        expected = hmac.new(_generic_key(secret), id_bytes + rest, hashlib.sha256).digest()
        if any(hmac.compare_digest(expected, sig) for sig in given):
            return None
    return "bad_signature"


def header_bytes(value: str) -> bytes:
    """The bytes a header value was sent as: the server hands them on decoded as Latin-1 (every byte one character),
    so encoding back gives them exactly. A value holding more than Latin-1 (a caller's own mapping of text) is
    taken as UTF-8."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8")


def _v1_signatures(header: str) -> list[bytes]:
    """The ``v1,<base64>`` entries of a Standard Webhooks signature header (space-separated, several while a
    sender rotates keys). Other versions (``v1a``) and malformed entries are skipped, not fatal: the
    ``standardwebhooks`` package rejected the whole header when one entry lacked its comma or padding,
    even with a valid signature beside it. Base64 is decoded strictly (no ignored junk characters)."""
    out = []
    for entry in header.split()[:MAX_SIGNATURES]:
        version, _, encoded = entry.partition(",")
        if version != "v1" or not encoded:
            continue
        try:
            out.append(base64.b64decode(encoded, validate=True))
        except ValueError:  # binascii.Error
            continue
    return out


def secret_problem(endpoint: str, secret: str | None) -> str | None:
    """Why ``secret`` cannot verify anything on ``endpoint``, or None. Only the Standard Webhooks key has a
    form: ``whsec_`` then base64 of the key bytes. One that is empty or does not decode made the
    ``standardwebhooks`` package raise on every delivery (``whsec_``: a 500; bad padding: every delivery a
    silent 401), so the receiver refuses it when it reads its secrets."""
    if endpoint != "generic" or not secret:
        return None
    try:
        Webhook(secret)
    except Exception as exc:  # EmptyWebhookSecretError is no ValueError; binascii.Error is
        return (f"is not a Standard Webhooks secret ({type(exc).__name__}: {str(exc)[:80]}): use whsec_ followed by "
                "the standard base64 of 24-64 random bytes, e.g. python -c \"import base64,secrets; "
                "print('whsec_' + base64.b64encode(secrets.token_bytes(32)).decode())\"")
    key = secret.removeprefix("whsec_")
    try:  # strictly: the package's decoder skips what is not base64, so the key bytes were not the partner's. The
        # padding may be left off (the package pads with "==" itself): an unpadded key had stopped the start-up
        base64.b64decode(key + "=" * (-len(key) % 4), validate=True)
    except ValueError:
        return ("holds characters that are not standard base64 after whsec_ (URL-safe '-' or '_', a whpk_/whsk_ "
                "asymmetric key, spaces): they were skipped, so every partner's signature was refused (401); use "
                "whsec_ followed by the standard base64 of 24-64 random bytes, e.g. python -c \"import base64,"
                "secrets; print('whsec_' + base64.b64encode(secrets.token_bytes(32)).decode())\"")
    return None


@functools.lru_cache(maxsize=8)
def _generic_key(secret: str) -> bytes:
    """The key bytes of a ``whsec_`` secret, decoded once (not per request) as the ``standardwebhooks``
    package decodes it (``secret_problem`` has refused one it cannot decode)."""
    return base64.b64decode(secret.removeprefix("whsec_") + "==")


def verify_slack(secret: str, body: bytes, headers: Mapping[str, str], now: float, tolerance: int) -> str | None:
    signature, timestamp = headers.get("x-slack-signature"), headers.get("x-slack-request-timestamp")
    if not signature:
        return "missing_signature"
    reason = _timestamp_reason(timestamp, now, tolerance)
    if reason:
        return reason
    # Slack's base string is "v0:<timestamp>:<raw body bytes>", hashed here over the bytes: slack_sdk's
    # SignatureVerifier decodes the body as UTF-8 first (a signed body that is not UTF-8 was refused as
    # bad_signature) and judges the timestamp by its own clock and a fixed 5 minutes (not tolerance_seconds)
    expected = "v0=" + hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return None if hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")) else "bad_signature"
