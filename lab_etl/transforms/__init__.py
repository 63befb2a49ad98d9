"""Pure ``DataFrame -> DataFrame`` transforms: plate mapping, ELN join, ChEMBL enrichment, QC, gold.

Nothing here reads files or talks to AWS; every function takes DataFrames shaped like the contracts in
``schemas/`` and returns one.
"""
