"""Command line entry points: ``python -m cli demo`` runs one full sync cycle against the sandbox."""
