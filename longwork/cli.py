"""The command line's side of long work: `--queue` enqueues the job and follows it with a
progress bar until it is done (Ctrl-C stops following; the job goes on in the worker)."""

from __future__ import annotations

import sys
import time
from typing import Any

import click

from extensions import db
from longwork.operations import start
from models import Job


def bar_step(label: str) -> tuple[Any, Any]:
    """A progress bar for the terminal (on stderr), and its on_progress(done, total); when
    stderr is not a terminal (a log, a pipe), one line per step: "export: 3/10 (30%)"."""
    state: dict[str, Any] = {"bar": None, "shown": -1}

    def step(done: int, total: int) -> None:
        if done == state["shown"]:
            return
        if not sys.stderr.isatty():
            click.echo(f"{label}: {done}/{total} ({100 * done // max(total, 1)}%)", err=True)
        else:
            if state["bar"] is None:
                state["bar"] = click.progressbar(length=max(total, 1), label=label, file=sys.stderr)
                state["bar"].__enter__()
            state["bar"].update(done - max(state["shown"], 0))
        state["shown"] = done

    def close() -> None:
        if state["bar"] is not None:
            state["bar"].__exit__(None, None, None)

    return step, close


def enqueue_and_follow(kind: str, payload: dict[str, Any], label: str, poll: float = 0.5) -> Job:
    """Start the job (as the command line), then show its progress until it ends; returns the
    finished row. Exit 1 if it failed."""
    from accounts.operations import command_line_name

    job = start(db.session, kind, None, {**payload, "actor_name": command_line_name()})
    db.session.commit()
    return follow(job.id, kind, label, poll)


def follow(job_id: int, kind: str, label: str, poll: float = 0.5) -> Job:
    """Show a queued job's progress until it ends; the finished row. Exit 1 if it failed."""
    click.echo(f"job {job_id} queued ({kind}); a worker runs it (flask --app app worker)", err=True)
    step, close = bar_step(label)
    try:
        while True:
            db.session.expire_all()
            row = db.session.get(Job, job_id)
            assert row is not None
            if row.total:
                step(row.progress, row.total)
            if row.state in ("done", "failed"):
                break
            db.session.rollback()  # a fresh snapshot for the next look
            time.sleep(poll)
    except KeyboardInterrupt:
        close()
        click.echo(f"\nstopped following; job {job_id} goes on in the worker", err=True)
        raise SystemExit(130) from None
    close()
    if row.state == "failed":
        raise click.ClickException(f"job {job_id} failed: {row.last_error}")
    return row
