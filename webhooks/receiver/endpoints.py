"""The endpoints a vendor calls, and what each one takes from a delivery.

An ``Endpoint`` names its inbox ``source``, the content type it accepts, its secret, its signature
scheme (``webhooks.receiver.verify``), how a body parses, its contract and where the delivery id and
event type are. ``ENDPOINTS`` is the list the receiver serves.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from webhooks.receiver import verify

MAX_ID = 200


class MissingDeliveryId(ValueError):
    """A verified delivery carries no id to dedupe on."""


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value (RFC 8259)")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:40]} overflows a double")
    return value


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        dup = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise ValueError(f"duplicate object key {dup[:40]!r}")
    return out


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
# C0 and C1 controls, DEL and lone surrogates: never in a delivery id or an event type
_NOT_TEXT = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def is_clean_text(value: str) -> bool:
    """A delivery id or event type: no control characters (NUL is refused by PostgreSQL text, a newline
    forges log lines) and no lone surrogates (SQLite cannot encode them)."""
    return _NOT_TEXT.search(value) is None


def _only_text(value: Any) -> None:
    """Every string of a parsed document, key or value, is Unicode text: a ``\\ud800`` escape without its
    pair parses (RFC 8259 8.2 leaves it undefined) but cannot be encoded, so the inbox failed its write
    batch (a 503 for every delivery in it) instead of keeping the body. Iterative: nesting is bounded by
    the parser, not by this walk."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise ValueError(f"a string holds a lone UTF-16 surrogate ({item[exc.start]!a}): not text") from None
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


# Arrays and objects nested deeper than this are refused (quarantined as malformed). Vendors' payloads nest
# a few dozen levels at most (a Jira ADF description's lists in lists included); without a fixed bound the
# limit was the parser's recursion limit (about 950 levels), and a handler reading such a body on a deeper
# stack failed every attempt, ending in the dead letters instead of quarantine.
MAX_JSON_DEPTH = 128


def _depth_within(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``value`` nests arrays and objects at most ``limit`` deep. Iterative."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            return False
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return True


def loads_strict(text: str) -> Any:
    """RFC 8259 JSON only: no NaN/Infinity, no number that overflows to inf, no duplicate keys (which
    parsers resolve differently: the event type read here must be the one every later reader sees), no
    lone surrogate escapes, and nesting deeper than ``MAX_JSON_DEPTH`` is a ValueError (past the parser's
    own limit it was a RecursionError: a 500, not quarantine)."""
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite, object_pairs_hook=_unique)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    if not _depth_within(value):
        raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    if _SURROGATE_ESCAPE.search(text):  # only then can a string hold one (the text itself is valid UTF-8)
        _only_text(value)
    return value


def parse_json(body: bytes) -> Any:
    return loads_strict(body.decode("utf-8"))


def parse_slack_form(body: bytes) -> Any:
    """Interactivity posts ``payload=<json>`` form-encoded, UTF-8 behind the percent-escapes too (parse_qs
    replaced invalid bytes with U+FFFD by default: a payload its sender never wrote was accepted)."""
    fields = parse_qs(body.decode("utf-8"), strict_parsing=True, max_num_fields=20, errors="strict")
    if list(fields) != ["payload"] or len(fields["payload"]) != 1:
        raise ValueError("an interaction is one form field named payload")
    return loads_strict(fields["payload"][0])


def header_text(value: str) -> str:
    """A header value as text: its bytes read as UTF-8 where they are UTF-8, else as Latin-1 (as the server hands
    every value on). "inc-\u00e9" sent in UTF-8 was stored as "inc-\u00c3\u00a9": the id its sender never wrote, and
    another one than the same id sent in Latin-1."""
    raw = verify.header_bytes(value)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return value


def header_id(name: str) -> Callable[[Any, Mapping[str, str], bytes], str]:
    def get(payload: Any, headers: Mapping[str, str], body: bytes) -> str:
        value = header_text(headers.get(name) or "").strip()
        if not value or len(value) > MAX_ID:
            raise MissingDeliveryId(f"header {name} is missing or longer than {MAX_ID} characters")
        return value
    return get


@dataclass(frozen=True)
class Endpoint:
    name: str  # the metrics label
    source: str  # the inbox source (handlers register on source + event type)
    path: str
    content_type: str
    secret: str  # key in WebhookSettings.secrets
    verify: verify.Verifier
    parse: Callable[[bytes], Any]
    contract: str
    delivery_id: Callable[[Any, Mapping[str, str], bytes], str]
    event_type: Callable[[Any], str]
    # Where the delivery id is not covered by the signature: the bytes the signature covers, whose digest
    # is remembered so that a copy under a new id is known as a replay. None where the id is signed
    # (Standard Webhooks signs webhook-id; Slack's ids are in the signed body).
    signed_message: Callable[[bytes, Mapping[str, str]], bytes] | None = None
    # Where no signed header carries the time: when the sender says it sent the event, read from the
    # signed body (epoch seconds). The body digests above are kept for the replay window only, so an
    # older copy would be new again: it is refused as a stale replay instead.
    signed_at: Callable[[Any], float] | None = None
    # True for a payload whose delivery id is the sender's own event id, inside the signed body (Slack's
    # event_id): a second body under it can only be the sender's retry of that event, serialized again (Slack
    # re-signs a retry with a new timestamp; that its JSON bytes never change is not promised [unc]). It is a
    # duplicate (200, stored once), never a 409: Slack counts a non-2xx against the app and retries it again.
    # (A Slack app_rate_limited notice has no event id: its id is made here, and another body under it stays
    # a 409.)
    same_event_per_id: Callable[[Any], bool] | None = None


def _servicenow_type(p: dict) -> str:
    return f"{p['table']}.{p['operation']}"


def _slack_event_id(payload: Any, headers: Mapping[str, str], body: bytes) -> str:
    if payload["type"] == "app_rate_limited":  # no event id: one notice per workspace, app and minute
        minute = int(payload["minute_rate_limited"])  # JSON Schema's integer admits 1.0: one id for one minute
        return f"app_rate_limited:{payload['team_id']}:{payload.get('api_app_id', '')}:{minute}"
    return payload["event_id"]


def _slack_event_type(payload: Any) -> str:
    return "app_rate_limited" if payload["type"] == "app_rate_limited" else f"event_callback:{payload['event']['type']}"


def _slack_interaction_id(payload: Any, headers: Mapping[str, str], body: bytes) -> str:
    # one click (shortcut, submission) = one trigger_id; a view_closed has none (the contract), so its signed
    # body's digest names it. Slack does not retry interactions [unc], so this only guards replays.
    trigger = payload.get("trigger_id")
    return trigger[:MAX_ID] if trigger else f"sha256:{hashlib.sha256(body).hexdigest()}"


def _servicenow_signed(body: bytes, headers: Mapping[str, str]) -> bytes:
    return headers.get("x-servicenow-timestamp", "").encode() + b"." + body  # as verify_servicenow checked it


ENDPOINTS = (
    Endpoint("servicenow", "servicenow", "/api/integrations/servicenow/webhook", "application/json", "servicenow",
             verify.verify_servicenow, parse_json, "servicenow.record_change",
             header_id("x-servicenow-delivery"), _servicenow_type, _servicenow_signed),
    Endpoint("jira", "jira", "/api/integrations/jira/webhook", "application/json", "jira", verify.verify_jira,
             parse_json, "jira.issue_event", header_id("x-atlassian-webhook-identifier"),
             lambda p: p["webhookEvent"], lambda body, headers: body,
             lambda p: p["timestamp"] / 1000),  # Jira's epoch milliseconds (the contract requires them)
    Endpoint("generic", "generic", "/api/integrations/generic/webhook", "application/json", "generic",
             verify.verify_generic, parse_json, "generic.event", header_id("webhook-id"), lambda p: p["type"]),
    Endpoint("slack_events", "slack", "/api/integrations/slack/events", "application/json", "slack",
             verify.verify_slack, parse_json, "slack.event", _slack_event_id, _slack_event_type,
             same_event_per_id=lambda p: p["type"] == "event_callback"),
    Endpoint("slack_interactions", "slack", "/api/integrations/slack/interactions",
             "application/x-www-form-urlencoded", "slack", verify.verify_slack, parse_slack_form,
             "slack.interaction", _slack_interaction_id, lambda p: f"interaction:{p['type']}"),
)
