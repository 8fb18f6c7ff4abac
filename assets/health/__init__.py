"""Integration health: graded findings (measure), their inputs, history, and the Dagster checks."""
