/*
 * The 20 most recent pipeline runs with their file counts and how many plates each touched.
 */
SELECT
    runs.run_id,
    runs.landing,
    runs.started_at,
    runs.finished_at,
    runs.files_seen,
    runs.files_skipped,
    runs.files_parsed,
    runs.files_quarantined,
    runs.files_duplicate,
    runs.readings_written,
    count(DISTINCT plates.plate_id) AS plates_touched
FROM lab_bronze.ingest_runs AS runs
LEFT JOIN lab_bronze.run_plates AS plates
    ON plates.run_id = runs.run_id
GROUP BY
    runs.run_id, runs.landing, runs.started_at, runs.finished_at, runs.files_seen, runs.files_skipped,
    runs.files_parsed, runs.files_quarantined, runs.files_duplicate, runs.readings_written
ORDER BY runs.started_at DESC, runs.run_id DESC
LIMIT 20
