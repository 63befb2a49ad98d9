/*
 * The reagents used on the plates with their properties (ChEMBL's, or RDKit-computed where ChEMBL has no match)
 * and how many wells used each, by role.
 */
SELECT
    wr.reagent_role,
    r.reagent_key,
    max(wr.reagent_name) AS reagent_name,
    r.smiles,
    r.chembl_id,
    r.match_method,
    r.property_source,
    r.mw,
    r.alogp,
    r.rtb,
    r.hba,
    r.hbd,
    r.tpsa,
    r.aromatic_rings,
    r.error,
    count(*) AS wells,
    count(DISTINCT wr.plate_id) AS plates
FROM lab_silver.well_reagents AS wr
JOIN lab_silver.reagents AS r
    ON r.reagent_key = coalesce(wr.chembl_id, wr.smiles)
GROUP BY
    wr.reagent_role, r.reagent_key, r.smiles, r.chembl_id, r.match_method, r.property_source, r.mw, r.alogp, r.rtb,
    r.hba, r.hbd, r.tpsa, r.aromatic_rings, r.error
ORDER BY wr.reagent_role, wells DESC, r.reagent_key
