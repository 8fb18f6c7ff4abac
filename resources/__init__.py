"""Dagster resources: environment settings, secrets (Vault or env vars), warehouse and vendor clients.

`resources_for(env)` is the one place where an environment becomes a resources map.
"""
