"""dlt sources, one package per vendor. Nothing here imports Dagster: each source runs alone
(`python -m pipelines.servicenow`) against the sandbox or a real vendor."""
