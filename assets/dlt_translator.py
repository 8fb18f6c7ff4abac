"""How dlt resources appear in the asset graph: ``<vendor>/<resource>``, grouped by vendor."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from dagster import AssetKey, AssetSpec, FreshnessPolicy
from dagster_dlt import DagsterDltTranslator
from dagster_dlt.translator import DltResourceTranslatorData


class ProjectXDltTranslator(DagsterDltTranslator):
    """Asset key = [source, resource] (the key dbt sources point at); freshness = 2x the cadence."""

    def __init__(self, cadence_minutes: Mapping[str, int], descriptions: Mapping[str, str] | None = None):
        self.cadence_minutes = dict(cadence_minutes)
        self.descriptions = dict(descriptions or {})

    def get_asset_spec(self, data: DltResourceTranslatorData) -> AssetSpec:
        resource = data.resource
        spec = super().get_asset_spec(data)
        minutes = self.cadence_minutes.get(resource.name)
        freshness = (
            FreshnessPolicy.time_window(
                fail_window=timedelta(minutes=2 * minutes), warn_window=timedelta(minutes=minutes)
            )
            if minutes
            else None
        )
        return spec.replace_attributes(
            key=AssetKey([resource.source_name, resource.name]),
            group_name=resource.source_name,
            deps=[],
            description=self.descriptions.get(resource.name, spec.description),
            freshness_policy=freshness,
        )
