"""`flask --app app audit verify | keygen | rotate-key | anchor | seal`: the audit trail."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from flask import current_app
from flask.cli import AppGroup
from flask_babel import force_locale
from sqlalchemy import select

from accounts.operations import command_line_name
from audittrail import keys
from audittrail.anchors import anchor_file, append_anchor
from audittrail.verify import verify_audit
from extensions import db
from models import AuditChain, User
from publishing.services import file_store
from i18n import translate
from securitylog.events import EVENT_LABELS
from securitylog.export import security_log_csv
from securitylog.operations import log_security_event
from securitylog.queries import EventFilter, security_log_query
from workflows.audit import NoKeyring, current_keyring
from workflows.transitions import record_event


@click.group("audit", help="The audit trail.", cls=AppGroup)
def cli() -> None:
    pass


@cli.command("verify")
def verify() -> None:
    """Check every chain, the anchors and the PDFs' audit heads; exit 1 if anything was changed."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    keyring = keys.load_keyring(app)  # None: keyed events are unverifiable (exit 2), not tampered
    report = verify_audit(db.session, keyring, anchor_file(app), file_store())
    for b in report.breaks:
        subject = f"brief {b.brief_id}" if b.brief_id is not None else "installation"
        where = f"event #{b.seq}" if b.seq is not None else "head"
        click.echo(f"TAMPERED {subject}: {where}: {b.problem}")
    for note in report.notes:
        click.echo(f"note: {note}")
    if report.missing_keys:
        click.echo(f"UNVERIFIABLE: events or anchors keyed with {', '.join(sorted(report.missing_keys))}, "
                   "which this installation does not hold; restore the key file to verify them")
    summary = (f"{report.events} events of {report.briefs} briefs, {report.anchors} anchors, "
               f"{report.pdfs} archival PDFs checked")
    if report.tampered:
        click.echo(f"audit trail BROKEN: {len(report.breaks)} problems; {summary}")
        raise SystemExit(1)
    if not report.verifiable:
        click.echo(f"audit trail unverifiable (no sign of tampering in what could be checked); {summary}")
        raise SystemExit(2)
    click.echo(f"audit trail intact: {summary}")


@cli.command("keygen")
def keygen() -> None:
    """Write the first audit key (instance/audit-keys.json) if there is none."""
    made = keys.generate(current_app._get_current_object())  # type: ignore[attr-defined]
    if made is None:
        click.echo("an audit key exists already; nothing written")
        return
    path, kid = made
    click.echo(f"audit key {kid} written to {path}; keep an offline copy of this file (see README, Security)")


@cli.command("rotate-key")
def rotate_key() -> None:
    """Add a new audit key and use it for new events; the old keys stay for verifying."""
    try:
        path, kid = keys.rotate(current_app._get_current_object())  # type: ignore[attr-defined]
    except NoKeyring as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"new audit key {kid} is current ({path}); copy the file offline again")


@cli.command("anchor")
def anchor() -> None:
    """Write the chain's head and count outside the database (run every minute by cron)."""
    chain = db.session.get(AuditChain, 1)
    if chain is None or chain.seq == 0:
        click.echo("no events yet; nothing to anchor")
        return
    written = append_anchor(anchor_file(current_app), current_keyring(), chain.seq, chain.head)
    click.echo(f"anchored event #{chain.seq}" if written else f"event #{chain.seq} was anchored already")


@cli.command("seal")
def seal() -> None:
    """Seal events written before the audit keys with a keyed checkpoint (done by the next event anyway)."""
    chain = db.session.scalar(select(AuditChain).where(AuditChain.id == 1))
    if chain is None or chain.legacy_sealed:
        click.echo("nothing to seal")
        return
    record_event(db.session, None, "seal", None, from_state=None, to_state=None, subject_type="audit")
    db.session.commit()
    click.echo("legacy events sealed")


@cli.command("security-log")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="From this day on (YYYY-MM-DD).")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Up to and including this day.")
@click.option("--kind", "kinds", multiple=True, help="Only these kinds of event (e.g. roles_changed); repeatable.")
@click.option("--user", "username", help="Only what this user did, or what was done to their account.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
def security_log(since: date | None, until: date | None, kinds: tuple[str, ...], username: str | None,
                 output: Path) -> None:
    """Export the security log (or a part of it) as CSV, e.g. to archive a year of it offline.
    The log itself is never shortened: the events stay in the keyed trail."""
    user_id = None
    if username:
        user_id = db.session.scalar(select(User.id).where(User.username == username))
        if user_id is None:
            raise click.ClickException(f"no user {username!r}")
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    flt = EventFilter(since=since.date() if since else None, until=until.date() if until else None,
                      actions=list(kinds), user_id=user_id)
    events = list(db.session.scalars(security_log_query(flt, zone)))
    usernames = {uid: name for uid, name in db.session.execute(select(User.id, User.username))}
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        data = security_log_csv(events, usernames, zone, lambda action: translate(EVENT_LABELS.get(action, action)))
    output.write_bytes(data)
    log_security_event(db.session, "csv_exported", None, actor_name=command_line_name(), detail={
        "what": "security_log", "rows": len(events), "file": str(output),
        "filters": {k: v for k, v in (("since", flt.since and flt.since.isoformat()),
                                      ("until", flt.until and flt.until.isoformat()),
                                      ("kind", ",".join(kinds)), ("user", username)) if v},
    })
    db.session.commit()
    click.echo(f"{output}: {len(events)} events of the security log")
