"""Pieces every vendor source shares: the resilient HTTP session, cursors, validation."""
