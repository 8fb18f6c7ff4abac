"""Faithful, stateful emulators of the vendor APIs Project X integrates with (see DESIGN.md §4)."""
