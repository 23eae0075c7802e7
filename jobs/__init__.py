"""The one background job queue (DESIGN: side effects of audited moves, e.g. mail).

Every job is first a row of `job` (models/job.py), written by `jobs.operations.enqueue` in the
transaction of the move that causes it: a rolled-back move leaves no row and runs nothing. Only
after the commit is the row's id handed to huey (jobs/queue.py: SQLite in instance/ by default,
Redis when CANYUE_JOBS_URL=redis://…); a worker (`flask --app app worker`, jobs/worker.py)
claims the row, runs the kind's handler (jobs/registry.py) and marks the row done only after it
succeeded. A failure is retried with exponential backoff, then the row is `failed` and shown on
the admin's home. A worker killed mid-job (huey alone would lose that task, its issue #559)
leaves the row `running`: the next worker to start, or the periodic sweep once the claim's
lease is over, queues it again.
"""
