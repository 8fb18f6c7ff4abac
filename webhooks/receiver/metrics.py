"""The receiver's own counters, on prometheus_client's default registry (served at ``/metrics``)."""

from prometheus_client import Counter

WEBHOOK_FAILURES = Counter(
    "webhook_failures", "Webhook deliveries rejected or failed, by endpoint and reason (bad signature, "
    "replay, oversize, malformed, processing error).", ["endpoint", "reason"])
