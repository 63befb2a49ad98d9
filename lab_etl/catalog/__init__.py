"""The Glue Data Catalog edge: lakehouse Delta tables registered for Athena and Redshift Spectrum."""
