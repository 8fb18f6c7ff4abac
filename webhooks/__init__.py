"""The long-running service: one Starlette app (webhook receiver, operations page and /metrics)."""
