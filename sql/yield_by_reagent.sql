/*
 * Average yield per scaffold and per reactant, with counts: which building block gives the best yield?
 * Wells without a yield (flag 'missing') count in wells but not in the mean.
 * Athena (Trino) and Spark SQL alike: lab-etl sql "$(cat sql/yield_by_reagent.sql)" --format table
 */
SELECT reagent_role, smiles, reagent_name, wells, wells_with_yield, mean_yield, min_yield, max_yield
FROM (
    SELECT
        'scaffold' AS reagent_role,
        scaffold_smiles AS smiles,
        max(scaffold_name) AS reagent_name,
        count(*) AS wells,
        count(value) AS wells_with_yield,
        round(avg(value), 2) AS mean_yield,
        min(value) AS min_yield,
        max(value) AS max_yield
    FROM lab_gold.assay_results_flat
    WHERE measurement = 'yield' AND scaffold_smiles IS NOT NULL
    GROUP BY scaffold_smiles
    UNION ALL
    SELECT
        'reactant' AS reagent_role,
        reactant_smiles AS smiles,
        max(reactant_name) AS reagent_name,
        count(*) AS wells,
        count(value) AS wells_with_yield,
        round(avg(value), 2) AS mean_yield,
        min(value) AS min_yield,
        max(value) AS max_yield
    FROM lab_gold.assay_results_flat
    WHERE measurement = 'yield' AND reactant_smiles IS NOT NULL
    GROUP BY reactant_smiles
) AS by_reagent
ORDER BY reagent_role DESC, mean_yield DESC NULLS LAST, smiles
