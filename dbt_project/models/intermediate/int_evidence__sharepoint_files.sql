-- Spec 2.6: files dropped in a watched SharePoint evidence folder (SHAREPOINT_INGEST_FOLDERS), as
-- evidence once the Evidence Library stored them; see the macro for the rules.
{{ watched_store_evidence('sharepoint', 'stg_evidence_stores__sharepoint_files', 'sharepoint_folder',
                          'files.folder_path') }}
