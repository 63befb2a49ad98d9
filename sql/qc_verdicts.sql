/*
 * Every plate read's QC verdict: pass, fail, or not judged (no positive and negative controls), with Z' and S/B.
 */
SELECT
    plate_id,
    measurement,
    channel,
    CASE WHEN qc_pass THEN 'pass' WHEN NOT qc_pass THEN 'fail' ELSE 'not judged' END AS verdict,
    round(z_prime, 3) AS z_prime,
    round(signal_to_background, 2) AS signal_to_background,
    positive_controls,
    negative_controls,
    qc_reasons
FROM lab_gold.plate_qc
ORDER BY verdict, plate_id, measurement, channel
