"""Asset owners, from the one mapping users edit: ``resources/owners.yaml`` (asset group -> owners).

Every asset of a group gets that group's owners; a group the file does not list gets ``default``.
The dbt and dlt translators apply it as they build the specs; :func:`with_owners`, decorating
``build_definitions``, covers whatever else is assembled (reverse sync, assets added later).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from pathlib import Path

import yaml
from dagster import AssetSpec, Definitions, PreviewWarning

OWNERS_FILE = Path(__file__).with_name("owners.yaml")


@functools.cache
def owners_mapping() -> dict[str, tuple[str, ...]]:
    """Group name -> owners, as the file says; ValueError names the file and the bad entry."""
    raw = yaml.safe_load(OWNERS_FILE.read_text()) or {}
    if not isinstance(raw, dict) or "default" not in raw:
        raise ValueError(f"{OWNERS_FILE} must map asset group names to lists of owners, with a `default` entry")
    out = {}
    for group, owners in raw.items():
        owners = [owners] if isinstance(owners, str) else owners
        if not owners or not all(isinstance(o, str) and (o.startswith("team:") or "@" in o) for o in owners):
            raise ValueError(f"{OWNERS_FILE}: `{group}` must list owners as `team:<name>` or email addresses, "
                             f"got {owners!r}")
        out[str(group)] = tuple(owners)
    return out


def owners_for(group: str | None) -> list[str]:
    """The owners of an asset group (``default`` for a group the file does not list)."""
    mapping = owners_mapping()
    return list(mapping.get(group or "default", mapping["default"]))


def _owned(spec: AssetSpec) -> AssetSpec:
    return spec if spec.owners else spec.replace_attributes(owners=owners_for(spec.group_name))


def with_owners(build: Callable[..., Definitions]) -> Callable[..., Definitions]:
    """Decorates ``build_definitions``: every asset it assembles without owners gets its group's."""

    @functools.wraps(build)
    def wrapper(*args, **kwargs) -> Definitions:
        with warnings.catch_warnings():  # Definitions.map_asset_specs is marked preview in Dagster 1.13
            warnings.simplefilter("ignore", category=PreviewWarning)
            return build(*args, **kwargs).map_asset_specs(func=_owned)

    return wrapper
