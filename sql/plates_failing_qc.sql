/*
 * Plates that failed QC, worst Z' first, with the checks that failed (lab_gold.plate_qc.qc_reasons).
 * Plates without controls are not judged (qc_pass IS NULL) and are not listed here.
 */
SELECT
    plate_id,
    measurement,
    channel,
    source_file,
    wells,
    round(z_prime, 3) AS z_prime,
    round(signal_to_background, 2) AS signal_to_background,
    round(positive_cv_pct, 1) AS positive_cv_pct,
    round(negative_cv_pct, 1) AS negative_cv_pct,
    round(edge_effect_pct, 1) AS edge_effect_pct,
    flagged_wells,
    qc_reasons
FROM lab_gold.plate_qc
WHERE qc_pass = false
ORDER BY z_prime ASC NULLS FIRST, plate_id, measurement, channel
