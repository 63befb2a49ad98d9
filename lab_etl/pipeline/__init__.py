"""The pipeline, named by stage as the data flows: ``landing`` (one listing per run) and ``ingest_log`` (the
bookmark) -> ``bronze`` (instrument files) and ``side_inputs`` (ELN, layouts, ChEMBL) -> ``silver`` -> ``gold``, with
``publish`` (gated writes) and ``profile`` (what a run spends); ``run`` runs them in one pass or as separate jobs."""
