"""`flask --app app worker`: the background job worker and the one scheduler (jobs/worker.py)."""

from __future__ import annotations

import logging

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("worker")
@click.option("--workers", default=2, show_default=True, help="Jobs run at once (threads).")
@click.option("--once", is_flag=True, help="Run what is due now, then stop (no scheduler).")
@with_appcontext
def cli(workers: int, once: bool) -> None:
    """Run background jobs (mail, periodic jobs) until stopped."""
    import signal

    from jobs import worker

    # Started in the background by a script (scripts/serve), SIGINT comes ignored: stop on it.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if once:
        ran = worker.drain(app)
        click.echo(f"worker: {len(ran)} job run(s)")
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    worker.run(app, workers=workers)
