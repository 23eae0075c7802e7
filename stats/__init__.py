"""成果统计: the statistics page's figures (figures.py), charts (charts.py) and exports
(export.py). Named `stats`, not `statistics`, so that it does not hide Python's own
`statistics` module (which the tests and benchmarks import)."""
