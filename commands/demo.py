"""`flask --app app demo`: demo users, the series 领导参阅 and sample briefs."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from archive.importer import files_from_paths, import_batch
from commands.security import set_demo_policy
from extensions import db
from models import Recipient, SecretaryLink, Series, User
from publishing.brieffile import parse_brief_file
from signin.twofactor import OFFERED
from workflows.copy import Medium
from workflows.distribution import replace_series_list
from workflows.roles import Role
from workflows.transitions import apply_transition, create_brief

DEMO_DIR = Path(__file__).resolve().parent.parent / "demo" / "briefs"
# A past issue brought in as an archivist would import it: the archive is not empty, and the
# series' numbering continues after it.
DEMO_PAST = Path(__file__).resolve().parent.parent / "demo" / "past"

DEMO_USERS = [
    ("drafter", "周明", [Role.DRAFTER]),
    ("editor", "李青", [Role.EDITOR]),
    ("signer", "王志远", [Role.SIGNER]),
    ("archivist", "陈静", [Role.ARCHIVIST]),
    ("admin", "赵敏", [Role.ADMIN]),
    # 三员分立: the security administrator grants roles, the auditor reads the security log.
    ("security", "黄磊", [Role.SECURITY_ADMIN]),
    ("auditor", "林芳", [Role.AUDITOR]),
    # 机要员: dispatches the copies, records receipts, prints the run.
    ("clerk", "刘洋", [Role.CLERK]),
    # 秘书: records the paper sign-offs (代签) of 王志远, to whom the demo links them.
    ("secretary", "李秘书", [Role.SECRETARY]),
]

# The recipients directory: the leaders named on the 本期专报 line, and the units on the series'
# default list (报 / 送 / 发) with their copies. (name, title, organisation, category, copies)
DEMO_RECIPIENTS = [
    ("王建国", "书记", "中共苏州市委", "专报", 1),
    ("李明", "代市长", "苏州市人民政府", "专报", 1),
    ("陈立", "秘书长", "中共苏州市委", "专报", 1),
    ("赵文华", "副市长", "苏州市人民政府", "专报", 1),
    ("市委办公室", "", "中共苏州市委", "报", 2),
    ("市政府办公室", "", "苏州市人民政府", "报", 2),
    ("市发展和改革委员会", "", "苏州市人民政府", "送", 1),
    ("市工业和信息化局", "", "苏州市人民政府", "送", 1),
    ("市科学技术局", "", "苏州市人民政府", "发", 1),
]

# A leader the series reports to only now and then: not on its default list.
USUAL_ABSENT = {"赵文华"}

# Demo briefs and how far each travels: a draft for the drafter, one to review for the
# editor, one awaiting the leader's sign-off.
DEMO_BRIEFS = [
    ("data-elements.md", []),
    ("low-altitude-economy.md", ["submit"]),
    ("ai-manufacturing.md", ["submit", "approve"]),
]


def load_demo() -> dict[str, str]:
    """Create the demo data in an empty database; returns username → password."""
    passwords: dict[str, str] = {}
    users: dict[str, User] = {}
    for username, name, roles in DEMO_USERS:
        password = secrets.token_urlsafe(9)
        user = User(username=username, display_name=name, locale="zh_CN")
        user.set_password(password)
        user.set_roles({r.value for r in roles})
        db.session.add(user)
        users[username] = user
        passwords[username] = password
    series = Series(
        name="领导参阅",
        hosts="苏州太湖书院\n苏州太湖智库",
        contact_phone="0512-66881234  66881235（传真）",
        address="苏州市吴中区示例路 100 号",
        default_print_run=30,
        first_total_number=30,
    )
    db.session.add(series)
    db.session.flush()
    recipients = [
        Recipient(name=name, title=title, organisation=organisation, category=category, default_copies=copies)
        for name, title, organisation, category, copies in DEMO_RECIPIENTS
    ]
    db.session.add_all(recipients)
    db.session.flush()
    # The series' usual 本期专报 leaders (a new brief starts with them), then the units.
    replace_series_list(db.session, series.id, [
        (r.id, r.category, r.default_copies, Medium.PRINTED.value) for r in recipients if r.name not in USUAL_ABSENT
    ])
    db.session.add(SecretaryLink(secretary_id=users["secretary"].id, leader_id=users["signer"].id))
    db.session.commit()
    past = import_batch(
        db.session, users["archivist"], files_from_paths([DEMO_PAST]),
        fonds=current_app.config["CANYUE_FONDS_CODE"], category=current_app.config["CANYUE_ARCHIVE_CATEGORY"],
    )
    failed = [o for o in past if o.error]
    if failed:
        raise click.ClickException(f"demo past issue not imported: {failed[0].name}: {failed[0].error}")
    actors = {"submit": users["drafter"], "approve": users["editor"]}
    for filename, moves in DEMO_BRIEFS:
        content = parse_brief_file((DEMO_DIR / filename).read_text(encoding="utf-8")).content()
        brief = create_brief(db.session, users["drafter"], series, content)
        for action in moves:
            apply_transition(db.session, brief, action, actors[action])
    # The demo signs in with a password alone: two-factor sign-in is offered to every role, not
    # required (a production installation requires it for signers, secretaries and administrators).
    set_demo_policy(OFFERED)
    db.session.commit()
    return passwords


@click.command("demo", help="Load demo users, the series 领导参阅 and sample briefs.")
@with_appcontext
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has users.")
def cli(if_empty: bool) -> None:
    if db.session.scalar(select(User.id).limit(1)) is not None:
        if if_empty:
            click.echo("The database has data; demo not loaded.")
            return
        raise click.ClickException("the database is not empty; the demo loads into an empty one")
    passwords = load_demo()
    lines = [f"  {name:<10} {passwords[name]}   ({', '.join(r.value for r in roles)})" for name, _n, roles in DEMO_USERS]
    text = "Demo accounts (username, password):\n" + "\n".join(lines) + "\n"
    credentials = Path(current_app.instance_path) / "demo-credentials.txt"
    credentials.write_text(text, encoding="utf-8")
    os.chmod(credentials, 0o600)
    click.echo(text + f"(also saved in {credentials})")
    click.echo("Two-factor sign-in is offered, not required, on this demo: every account signs in with its\n"
               "password alone. A production installation requires it for signers, secretaries and\n"
               "administrators; to do so here: flask --app app security 2fa-policy signer required")
