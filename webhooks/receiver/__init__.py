"""The webhook receiver (its routes, inbox and counters)."""
