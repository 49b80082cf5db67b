"""The statistics API (``/api/v1``): subjects, tables, data from the published releases."""
