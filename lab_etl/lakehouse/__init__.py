"""The lakehouse edge: the Spark session, Delta writes and merges, table definitions."""
