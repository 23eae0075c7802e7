"""`flask --app app audit verify | keygen | rotate-key | anchor | seal`: the audit trail."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from audittrail import keys
from audittrail.anchors import anchor_file, append_anchor
from audittrail.verify import verify_audit
from extensions import db
from models import AuditChain
from publishing.services import file_store
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
