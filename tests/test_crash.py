"""A publish killed with SIGKILL between storing its files and committing: the database rolls
back, the files stay as orphans, and nothing is blocked — the same brief publishes with the
same numbers, and `archive verify --repair` clears the orphans once they are an hour old."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from sqlalchemy import func, select

from extensions import db
from models import StoredFile
from publishing.pipeline import publish
from tests.conftest import ANCHOR_FILE, DATABASE_URL, FILES_DIR, fetch
from workflows.brief import State

HERE = Path(__file__).resolve().parent


def kill_mid_publish(brief_id: int, editor_id: int, tmp_path: Path) -> list[str]:
    """Start a publish in another process, wait until it has stored its files and written its
    rows, kill it with SIGKILL; the paths it had stored."""
    marker = tmp_path / "paused"
    process = subprocess.Popen([sys.executable, str(HERE / "crash_publish.py"), DATABASE_URL, str(FILES_DIR),
                                str(ANCHOR_FILE), str(brief_id), str(editor_id), str(marker)])
    try:
        deadline = time.monotonic() + 90
        while not marker.exists():
            assert process.poll() is None, f"the publishing process ended early ({process.returncode})"
            assert time.monotonic() < deadline, "the publishing process never reached its pause"
            time.sleep(0.05)
        time.sleep(0.1)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    return marker.read_text().split(",")


def test_a_publish_killed_before_its_commit_blocks_nothing(app, make_brief, people, tmp_path):
    brief_id = make_brief(State.SIGNED)
    written = kill_mid_publish(brief_id, people["editor"], tmp_path)

    # The database rolled back; the files the dead publish stored are still there, named by
    # no row: orphans.
    brief = fetch(app, brief_id)
    assert brief.state == State.SIGNED.value and brief.issue_number is None
    orphans = [path for path in written if (FILES_DIR / path).is_file()]
    assert len(orphans) >= 2, written  # the master and at least one copy
    with app.app_context():
        assert db.session.scalar(select(func.count(StoredFile.id))) == 0

    # The same brief publishes again, with the same numbers, despite them.
    with app.app_context():
        from models import User

        publish(db.session, brief_id, db.session.get(User, people["editor"]), issue_date=date(2026, 5, 4))
    brief = fetch(app, brief_id)
    assert brief.state == State.PUBLISHED.value and (brief.issue_number, brief.total_number) == (1, 31)

    runner = app.test_cli_runner()
    report = runner.invoke(args=["archive", "verify"])
    assert report.exit_code == 1 and all(f"unexpected: {path}" in report.output for path in orphans)

    # Young orphans may belong to a publish in progress: repair leaves them alone.
    young = runner.invoke(args=["archive", "verify", "--repair"])
    assert "quarantined:" not in young.output and "less than an hour old" in young.output
    assert all((FILES_DIR / path).is_file() for path in orphans)

    hours_ago = time.time() - 2 * 3600
    for path in orphans:
        os.utime(FILES_DIR / path, (hours_ago, hours_ago))
    repaired = runner.invoke(args=["archive", "verify", "--repair"])
    assert repaired.exit_code == 0, repaired.output
    assert all(f"quarantined: {path} -> quarantine/" in repaired.output for path in orphans)
    assert not any((FILES_DIR / path).exists() for path in orphans)
    with app.app_context():  # every referenced file untouched and intact
        for stored in db.session.scalars(select(StoredFile)):
            assert (FILES_DIR / stored.path).is_file()

    after = runner.invoke(args=["archive", "verify"])
    assert after.exit_code == 0 and "0 missing, 0 changed, 0 unexpected" in after.output
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
