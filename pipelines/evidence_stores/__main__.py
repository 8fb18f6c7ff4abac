"""``python -m pipelines.evidence_stores``: load the Evidence Library's ledger into the warehouse."""

from pipelines.common.warehouse import WarehouseSettings
from pipelines.evidence_stores import evidence_stores_source

if __name__ == "__main__":
    info = WarehouseSettings.from_env().pipeline("evidence_stores").run(evidence_stores_source())
    print(info)
