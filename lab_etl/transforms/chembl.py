"""Reagents -> reagents with ChEMBL properties (``lab_silver.reagents``).

Each distinct reagent of the layouts is matched to ``lab_reference.chembl_compounds``:

1. by ChEMBL id, when the layout gives one and the reference holds it;
2. else by the standard InChIKey of its parent after ChEMBL's own structure pipeline (``chembl_structure_pipeline``
   standardise + get parent), compared with the reference's parent key (or its standard key when the reference was
   loaded without standardisation); when several records share that key (a free base and its salts), the one
   :func:`lab_etl.chem.matching.reference_rank` ranks first: the parent itself, else the lowest ChEMBL number;
3. else with descriptors computed by RDKit from the SMILES (``property_source = computed``);
4. a reagent with neither a match nor a parseable SMILES is ``unmatched`` and says why in ``error``.

Standardisation and descriptors run in ``mapInPandas`` on the distinct SMILES only: a plate repeats its reagents.
Every choice is deterministic: the same reagents and reference give the same rows whatever their order or
partitioning.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from lab_etl.transforms.gold import reagent_key

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import Column, DataFrame

_COMPUTED_SCHEMA = (
    "smiles string, parent_inchi_key string, c_mw double, c_alogp double, c_rtb int, c_hba int, c_hbd int, "
    "c_tpsa double, c_aromatic_rings int, error string"
)


def _compute(batches: Iterable[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    import pandas as pd

    from lab_etl.chem.structures import descriptors, standardise_unchecked
    from lab_etl.errors import LabEtlError

    for batch in batches:
        rows = []
        for smiles in batch["smiles"]:
            try:
                standard = standardise_unchecked(smiles)  # the parent key alone: no checker messages needed
                found = descriptors(smiles)
            except LabEtlError as exc:
                rows.append({"smiles": smiles, "error": str(exc)})
                continue
            rows.append(
                {
                    "smiles": smiles,
                    "parent_inchi_key": standard.parent_inchi_key,
                    "c_mw": found.mw,
                    "c_alogp": found.alogp,
                    "c_rtb": found.rtb,
                    "c_hba": found.hba,
                    "c_hbd": found.hbd,
                    "c_tpsa": found.tpsa,
                    "c_aromatic_rings": found.aromatic_rings,
                    "error": None,
                }
            )
        frame = pd.DataFrame(rows, columns=[c.split()[0] for c in _COMPUTED_SCHEMA.split(", ")])
        yield frame.astype({"c_rtb": "Int32", "c_hba": "Int32", "c_hbd": "Int32", "c_aromatic_rings": "Int32"})


def _rank(chembl_id: str | None, standard_inchi_key: str | None, match_key: str | None) -> tuple[bool, int] | None:
    """:func:`lab_etl.chem.matching.reference_rank` for the Spark path; None for a reagent without a candidate."""
    from lab_etl.chem.matching import reference_rank

    return None if chembl_id is None else reference_rank(chembl_id, standard_inchi_key, match_key)


def enrich_reagents(well_reagents: DataFrame, compounds: DataFrame) -> DataFrame:
    """Rows shaped like ``lab_silver.reagents`` from ``well_reagents`` and ``lab_reference.chembl_compounds``."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    distinct = (
        well_reagents.where(F.col("smiles").isNotNull() | F.col("chembl_id").isNotNull())
        .withColumn("reagent_key", reagent_key("smiles", "chembl_id"))
        .groupBy("reagent_key")
        # min, not first: wells may draw one ChEMBL id with different SMILES, and first depends on row order
        .agg(F.min("smiles").alias("smiles"), F.min("chembl_id").alias("chembl_id"))
    )
    reference = compounds.select(
        "chembl_id",
        "standard_inchi_key",
        F.coalesce("parent_inchi_key", "standard_inchi_key").alias("match_key"),
        F.col("mw_freebase").alias("mw"),
        "alogp",
        "rtb",
        "hba",
        "hbd",
        F.col("psa").alias("tpsa"),
        "aromatic_rings",
        "property_source",
    )
    by_id = reference.select(*[F.col(c).alias(f"id_{c}") for c in reference.columns])
    by_key = reference.select(*[F.col(c).alias(f"key_{c}") for c in reference.columns])
    smiles = distinct.where(F.col("smiles").isNotNull()).select("smiles").distinct()
    computed = smiles.repartition(max(1, smiles.sparkSession.sparkContext.defaultParallelism)).mapInPandas(
        _compute, _COMPUTED_SCHEMA
    )

    joined = (
        distinct.join(by_id, distinct["chembl_id"] == by_id["id_chembl_id"], "left")
        .join(computed, "smiles", "left")
        .join(by_key, F.col("parent_inchi_key") == F.col("key_match_key"), "left")
    )
    # a free base and its salts share a key: keep the candidate the one rule ranks first (ranked after the join,
    # so only candidates are ranked, never the whole reference)
    rank = F.udf(_rank, "struct<not_the_parent: boolean, chembl_number: bigint>")
    candidates = Window.partitionBy("reagent_key").orderBy(
        rank("key_chembl_id", "key_standard_inchi_key", "key_match_key")
    )
    joined = joined.withColumn("_candidate", F.row_number().over(candidates)).where("_candidate = 1")
    id_hit = F.col("id_chembl_id").isNotNull()
    key_hit = ~id_hit & F.col("key_chembl_id").isNotNull()
    computed_hit = ~id_hit & ~key_hit & F.col("c_mw").isNotNull()
    method = F.when(id_hit, "chembl_id").when(key_hit, "inchikey").when(computed_hit, "computed").otherwise("unmatched")

    def pick(field: str) -> Column:
        return (
            F.when(id_hit, F.col(f"id_{field}"))
            .when(key_hit, F.col(f"key_{field}"))
            .when(computed_hit, F.col(f"c_{field}"))
        )

    return joined.select(
        "reagent_key",
        "smiles",
        F.coalesce("chembl_id", F.when(key_hit, F.col("key_chembl_id"))).alias("chembl_id"),
        "parent_inchi_key",
        method.alias("match_method"),
        F.when(id_hit, F.col("id_property_source"))
        .when(key_hit, F.col("key_property_source"))
        .when(computed_hit, F.lit("computed"))
        .alias("property_source"),
        *[pick(field).alias(field) for field in ("mw", "alogp", "rtb", "hba", "hbd", "tpsa", "aromatic_rings")],
        F.when(
            ~id_hit & ~key_hit & ~computed_hit,
            F.coalesce(
                "error",
                F.when(
                    F.col("chembl_id").isNotNull(),
                    F.concat(
                        F.lit("ChEMBL id "), "chembl_id", F.lit(" is not in the reference and no SMILES was given")
                    ),
                ),
            ),
        ).alias("error"),
    )


def match_rates(reagents: DataFrame) -> dict[str, int]:
    """How many reagents matched each way (for the run report)."""
    return {row["match_method"]: int(row["count"]) for row in reagents.groupBy("match_method").count().collect()}
