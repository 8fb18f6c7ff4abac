-- Spec 2.6: files dropped in a watched S3 evidence prefix (EVIDENCE_S3_INGEST_PREFIXES), as evidence
-- once the Evidence Library stored them; see the macro for the rules.
{{ watched_store_evidence('s3', 'stg_evidence_stores__s3_files', 's3_prefix',
                          "'s3://' || files.bucket || '/' || files.prefix") }}
