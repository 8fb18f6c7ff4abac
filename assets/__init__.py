"""Dagster assets: ingestion (dlt), transformation (dbt) and reverse sync, one module per concern."""
