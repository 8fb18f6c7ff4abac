"""``python -m pipelines.evidence_stores``: ingest the Drive evidence folders
(``EVIDENCE_GOOGLE_DRIVE_INGEST_FOLDER_IDS``) and load the Evidence Library's ledger into the warehouse."""

import os

from pipelines.common.warehouse import WarehouseSettings
from pipelines.evidence_stores import evidence_stores_source

if __name__ == "__main__":
    folders = [f for f in os.environ.get("EVIDENCE_GOOGLE_DRIVE_INGEST_FOLDER_IDS", "").split(",") if f]
    source = evidence_stores_source(drive_folders=folders,
                                    drive_credentials_file=os.environ.get("GOOGLE_APPLICATION_CREDENTIALS"),
                                    drive_api_endpoint=os.environ.get("EVIDENCE_GOOGLE_DRIVE_API_ENDPOINT"))
    print(WarehouseSettings.from_env().pipeline("evidence_stores").run(source))
