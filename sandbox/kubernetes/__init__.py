"""Kubernetes API emulator: service account tokens and the TokenReview API Vault's kubernetes auth calls."""
