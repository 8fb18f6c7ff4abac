-- Spec 2.6: files dropped in a watched Google Drive evidence folder, as evidence once the Evidence
-- Library stored them; see the macro for the rules. Drive's mimeType is what the uploader declared (a
-- "PDF" may be HTML, a Google Doc is stored as its PDF export): the macro takes the sniffed type.
{{ watched_store_evidence('gdrive', 'stg_evidence_stores__drive_files', 'drive_folder',
                          'files.folder_id') }}
