"""Signature schemes, one function per vendor: ``(secret, body, headers, now, tolerance) -> reason | None``.

``None`` means verified; otherwise the reason counted in ``webhook_failures_total`` (never shown to
the sender). Every comparison is constant-time. Schemes:

- ServiceNow (ours; ServiceNow has no standard one): ``X-ServiceNow-Timestamp: <unix seconds>`` and
  ``X-ServiceNow-Signature: v1=<hex HMAC-SHA256(SERVICENOW_WEBHOOK_SECRET, "<timestamp>." + raw body)>``,
  delivery id in ``X-ServiceNow-Delivery`` (stable across retries). A business rule computes it with
  ``GlideCertificateEncryption``/``GlideDigest`` or an IntegrationHub signing credential; see README.
- Jira admin webhooks: ``X-Hub-Signature: sha256=<hex HMAC-SHA256(JIRA_WEBHOOK_SECRET, raw body)>``.
  Jira signs no timestamp, so there is no replay window: redeliveries dedupe on
  ``X-Atlassian-Webhook-Identifier``.
- Generic partners: Standard Webhooks (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``)
  checked by the ``standardwebhooks`` package with ``GENERIC_WEBHOOK_SECRET`` (``whsec_<base64>``).
- Slack: ``X-Slack-Signature: v0=<hex>`` over ``v0:<timestamp>:<raw body>``, checked by slack_sdk's
  ``SignatureVerifier`` with ``SLACK_SIGNING_SECRET``.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Callable, Mapping

from slack_sdk.signature import SignatureVerifier
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

Verifier = Callable[[str, bytes, Mapping[str, str], float, int], "str | None"]


def _timestamp_reason(raw: str | None, now: float, tolerance: int) -> str | None:
    if not raw:
        return "missing_signature"
    try:
        ts = int(raw)
    except ValueError:
        return "bad_signature"
    return "stale_timestamp" if abs(now - ts) > tolerance else None


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
    return None if hmac.compare_digest(expected.encode(), signature.strip().encode("utf-8", "replace")) \
        else "bad_signature"


def jira_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_jira(secret: str, body: bytes, headers: Mapping[str, str], now: float, tolerance: int) -> str | None:
    signature = headers.get("x-hub-signature")
    if not signature:
        return "missing_signature"
    return None if hmac.compare_digest(jira_signature(secret, body).encode(),
                                       signature.strip().encode("utf-8", "replace")) else "bad_signature"


def verify_generic(secret: str, body: bytes, headers: Mapping[str, str], now: float, tolerance: int) -> str | None:
    wanted = {k: headers.get(k) for k in ("webhook-id", "webhook-timestamp", "webhook-signature")}
    if not all(wanted.values()):
        return "missing_signature"
    reason = _timestamp_reason(wanted["webhook-timestamp"], now, tolerance)
    if reason:
        return reason
    try:
        _standard(secret).verify(body, wanted, json_parse=False)
    except WebhookVerificationError:
        return "bad_signature"
    except (ValueError, TypeError):  # undecodable body or header parts (binascii.Error is a ValueError)
        return "bad_signature"
    return None


@functools.lru_cache(maxsize=8)
def _standard(secret: str) -> Webhook:
    return Webhook(secret)  # decodes the whsec_ key once, not per request


def verify_slack(secret: str, body: bytes, headers: Mapping[str, str], now: float, tolerance: int) -> str | None:
    signature, timestamp = headers.get("x-slack-signature"), headers.get("x-slack-request-timestamp")
    if not signature:
        return "missing_signature"
    reason = _timestamp_reason(timestamp, now, tolerance)
    if reason:
        return reason
    try:
        valid = SignatureVerifier(secret).is_valid(body, timestamp, signature)
    except (ValueError, TypeError):  # a body that is not UTF-8 cannot be Slack's
        return "bad_signature"
    return None if valid else "bad_signature"
