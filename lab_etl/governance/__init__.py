"""Lake Formation as code: the lakehouse's locations, LF-tags and grants declared in YAML, planned and applied."""
