"""Nightly reconciliation: vendor id censuses, parity checks and repair (see nightly.py)."""
