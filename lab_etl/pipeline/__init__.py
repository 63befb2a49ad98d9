"""The pipeline steps that read and write the lakehouse (bronze ingest, silver, gold), and the local runner."""
