/*
 * Files held in quarantine, newest first, with the reason a lab technician can act on and the run that saw them.
 * The bytes stay in lab_bronze.quarantine.content for replay; they are left out here.
 */
SELECT
    q.file_name,
    q.path,
    q.size_bytes,
    q.reason,
    q.sha256,
    q.run_id,
    q.quarantined_at,
    runs.landing
FROM lab_bronze.quarantine AS q
LEFT JOIN lab_bronze.ingest_runs AS runs
    ON runs.run_id = q.run_id
ORDER BY q.quarantined_at DESC, q.path
