"""Receiver counters on prometheus_client's default registry (the operations router serves /metrics).

``webhook_failures_total{endpoint,reason}``: requests not accepted, by why (spec §3.3's metric).
"""

from prometheus_client import Counter

FAILURES = Counter("webhook_failures_total", "Webhook requests rejected or quarantined, by endpoint and reason.",
                   ["endpoint", "reason"])
