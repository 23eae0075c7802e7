"""Long work as background jobs with progress (issue 15): a BagIt export of a year, a series or
a search, the search reindex, the PDF backfill, the fixity verification of the whole store
(also weekly) and backups, each a job kind on the one queue (jobs/). kinds.py holds the
handlers (the same code the direct commands run), operations.py starts them for a user,
cli.py follows one on the command line with a progress bar; views/work.py shows them."""
