"""``python -m pipelines.evidence_stores``: ingest the Drive evidence folders
(``EVIDENCE_GOOGLE_DRIVE_INGEST_FOLDER_IDS``), S3 prefixes (``EVIDENCE_S3_INGEST_PREFIXES``) and SharePoint
folders (``SHAREPOINT_INGEST_FOLDERS``) and load the Evidence Library's ledger into the warehouse."""

import os

from pipelines.common.runner import run_source
from pipelines.evidence_stores import evidence_stores_source
from pipelines.evidence_stores.s3 import prefixes_from_env
from pipelines.evidence_stores.sharepoint import folders_from_env

if __name__ == "__main__":
    folders = [f for f in os.environ.get("EVIDENCE_GOOGLE_DRIVE_INGEST_FOLDER_IDS", "").split(",") if f]
    source = evidence_stores_source(drive_folders=folders,
                                    drive_credentials_file=os.environ.get("GOOGLE_APPLICATION_CREDENTIALS"),
                                    drive_api_endpoint=os.environ.get("EVIDENCE_GOOGLE_DRIVE_API_ENDPOINT"),
                                    s3_prefixes=prefixes_from_env(), sharepoint_folders=folders_from_env())
    run_source("evidence_stores", source, loader_file_format=None)  # a killed run's packages discarded first
