"""Reverse sync: push outbound marts to vendors idempotently, through an external-id link table."""
