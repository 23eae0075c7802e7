"""Run by tests/test_crash.py in a process of its own: publish a brief and stop just before
the commit — the files are stored, the rows written but not committed — until killed.

    python tests/crash_publish.py DATABASE_URL FILES_DIR ANCHOR_FILE BRIEF_ID EDITOR_ID MARKER
"""

from __future__ import annotations

import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app  # noqa: E402
from extensions import db  # noqa: E402
from models import User  # noqa: E402
from publishing import pipeline  # noqa: E402
from tests.conftest import AUDIT_KEY, AUDIT_KEY_ID  # noqa: E402


def main() -> None:
    url, files, anchors, brief_id, editor_id, marker = sys.argv[1:]
    app = create_app({
        "TESTING": True, "SECRET_KEY": "test-secret", "SQLALCHEMY_DATABASE_URI": url, "SERVER_NAME": "canyue.test",
        "CANYUE_FILES_DIR": files, "CANYUE_AUDIT_KEYS": {AUDIT_KEY_ID: AUDIT_KEY}, "CANYUE_AUDIT_KEY_ID": AUDIT_KEY_ID,
        "CANYUE_AUDIT_ANCHOR_FILE": anchors,
    })

    def pause_before_commit(ctx: pipeline.PublishContext) -> None:
        Path(marker).write_text(",".join(ctx.written))
        time.sleep(120)  # the test kills us here

    with app.app_context():
        editor = db.session.get(User, int(editor_id))
        pipeline.publish(db.session, int(brief_id), editor, issue_date=date(2026, 5, 4),
                         commit=[*pipeline.COMMIT_STEPS, pause_before_commit])


if __name__ == "__main__":
    main()
