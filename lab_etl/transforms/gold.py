"""Gold: the one flat, ML-ready table — result per well with its reagents and their properties.

One row per well, measurement and channel on the last read (the endpoint), with one column group per reagent role
in :data:`REAGENT_ROLES` (``scaffold_smiles``, ``scaffold_mw`` ...). Roles beyond those stay in
``lab_silver.well_reagents``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lab_etl.transforms.qc import last_reads

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

REAGENT_ROLES = ("scaffold", "reactant", "catalyst")

#: per role: gold column suffix -> column of the joined well_reagents x reagents rows
_ROLE_FIELDS = {
    "name": "reagent_name",
    "smiles": "smiles",
    "chembl_id": "chembl_id",
    "mw": "mw",
    "alogp": "alogp",
    "rtb": "rtb",
    "property_source": "property_source",
}


def reagent_key(smiles: str, chembl_id: str) -> Column:
    """The key a reagent is enriched under: its ChEMBL id when given, else its SMILES (as a Spark column)."""
    from pyspark.sql import functions as F

    return F.coalesce(F.col(chembl_id), F.col(smiles))


def reagents_per_well(well_reagents: DataFrame, reagents: DataFrame) -> DataFrame:
    """One row per plate and well with the column groups of :data:`REAGENT_ROLES`."""
    from pyspark.sql import functions as F

    properties = reagents.select(
        "reagent_key",
        F.col("chembl_id").alias("matched_chembl_id"),
        "mw",
        "alogp",
        "rtb",
        "property_source",
    )
    keyed = well_reagents.withColumn("reagent_key", reagent_key("smiles", "chembl_id"))
    joined = keyed.join(properties, "reagent_key", "left").withColumn(
        "chembl_id", F.coalesce("chembl_id", "matched_chembl_id")
    )
    columns = [
        F.first(F.when(F.col("reagent_role") == role, F.col(source)), ignorenulls=True).alias(f"{role}_{suffix}")
        for role in REAGENT_ROLES
        for suffix, source in _ROLE_FIELDS.items()
    ]
    return joined.groupBy("plate_id", "well").agg(*columns)


def assay_results_flat(normalised: DataFrame, well_reagents: DataFrame, reagents: DataFrame) -> DataFrame:
    """Rows shaped like ``lab_gold.assay_results_flat``.

    Parameters
    ----------
    normalised:
        ``lab_silver.plate_results`` rows with ``percent_of_control``, ``percent_inhibition`` and ``qc_pass``
        (see :func:`lab_etl.transforms.qc.normalise`).
    well_reagents, reagents:
        ``lab_silver.well_reagents`` and ``lab_silver.reagents``.
    """
    per_well = reagents_per_well(well_reagents, reagents)
    endpoint = last_reads(normalised, per_well=True)
    flat = endpoint.join(per_well, ["plate_id", "well"], "left")
    return flat.select(
        "experiment_id",
        "project",
        "protocol_name",
        "plate_id",
        "well",
        "row_index",
        "column_index",
        "role",
        "sample_name",
        "measurement",
        "channel",
        "value",
        "unit",
        "flag",
        "percent_of_control",
        "percent_inhibition",
        "qc_pass",
        *[f"{role}_{suffix}" for role in REAGENT_ROLES for suffix in _ROLE_FIELDS],
        "source_file",
        "source_sha256",
    )
