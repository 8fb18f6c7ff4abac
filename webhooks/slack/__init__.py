"""Slack parts of the long-running service that other engineers wire in (interaction semantics)."""
