"""Receiver counters on prometheus_client's default registry (the operations router serves /metrics).

- ``webhook_failures_total{endpoint,reason}``: requests not accepted, by why (spec §3.3's metric);
  reasons: oversize, slow_body (408), slow_body_cut (408: a body still arriving, cut to make room for another
  sender's when every in-flight slot was taken), content_type, content_length (not a number), transfer_encoding
  (a coding other than chunked; beside a Content-Length or on HTTP/1.0 the protocol refuses it before the
  app, uncounted here), disconnected, length_required (411:
  neither Content-Length nor chunked), repeated_header (a signature, timestamp, delivery id or content type
  header sent twice),
  missing_signature, bad_signature, bad_timestamp (not ASCII digits, or over 12 of them), stale_timestamp,
  not_configured, replayed_body (401: a signed ServiceNow/Jira message already accepted under another
  delivery id within the replay window), conflicting_body (409: a stored delivery id with another body,
  kept in quarantine), rate_limited (429: a verified delivery over its sender's budget of deliveries),
  bytes_limited (429: a verified delivery over its sender's budget of body bytes),
  missing_delivery_id (none, too long or with control characters), malformed (signed, unparseable, a lone
  surrogate, or not UTF-8), contract (signed, breaks its JSON Schema, or an event type with control characters),
  content_encoding (signed, sent with a Content-Encoding: kept in quarantine, never inflated),
  inbox_unavailable (the commit failed; the sender retries). The security alert
  (``WebhookSignatureFailures`` in operations/alert_rules.yml) counts the signature and timestamp reasons.
- ``webhook_deliveries_accepted_total{endpoint}``: deliveries committed to the inbox (new ones).
- ``webhook_deliveries_duplicate_total{endpoint}``: redeliveries of an id already in the inbox (2xx, nothing stored).
- ``webhook_request_seconds{endpoint}``: time to answer a request that passed verification.
- ``webhook_rate_limited_total{endpoint,limit}``: requests answered 429, by the sender budget they were
  over: ``deliveries`` (verified), ``bytes`` (the body bytes of verified deliveries) or ``failures``
  (refused before verification, or replays; these are also counted in ``webhook_failures_total`` under
  their own reason), or ``in_flight`` (too many bodies arriving
  at once, from the sender (429) or from all (503), refused before the body is read). See
  ``webhooks.receiver.limits``.
- ``webhook_slack_interactions_unhandled_total{type}`` (defined in ``webhooks.slack.interactions``): Slack
  interactions acknowledged and stored that nothing acts on (every type but block_actions), by type.
- ``webhook_connections_refused_total{cause}``: TCP connections refused or closed by the connection limits
  (``webhooks.receiver.connections`` and ``.server``): address, total, evicted, pipelined, stalled_reader.
"""

from prometheus_client import Counter, Histogram

FAILURES = Counter("webhook_failures_total", "Webhook requests rejected or quarantined, by endpoint and reason.",
                   ["endpoint", "reason"])
ACCEPTED = Counter("webhook_deliveries_accepted_total", "Webhook deliveries committed to the inbox.", ["endpoint"])
DUPLICATES = Counter("webhook_deliveries_duplicate_total",
                     "Webhook redeliveries of an id already in the inbox (answered 2xx, nothing stored).", ["endpoint"])
LATENCY = Histogram("webhook_request_seconds", "Seconds to answer a verified webhook request.", ["endpoint"],
                    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5))
RATE_LIMITED = Counter("webhook_rate_limited_total", "Webhook requests answered 429 because their sender was over "
                       "its budget, by endpoint and budget (deliveries, bytes, failures, in_flight).",
                       ["endpoint", "limit"])
# Connections refused or closed by the connection budget (webhooks.receiver.connections), by why:
# ``address`` (429: over max_connections_per_address), ``total`` (503: every slot busy), ``evicted`` (an
# idle or half-sent connection of the heaviest address closed to make room), ``pipelined`` (more requests
# queued on one connection than the server answers), ``stalled_reader`` (answers not read for
# SEND_TIMEOUT seconds).
CONNECTIONS_REFUSED = Counter("webhook_connections_refused_total", "Webhook receiver connections refused or "
                              "closed by its connection limits, by cause.", ["cause"])
