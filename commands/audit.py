"""`flask --app app audit verify`: check every brief's audit hash chain."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from extensions import db
from models import AuditEvent, Brief
from workflows.audit import ChainBreak, verify_chain


def find_breaks() -> list[ChainBreak]:
    breaks = []
    for brief_id, head in db.session.execute(select(Brief.id, Brief.audit_head).order_by(Brief.id)):
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.brief_id == brief_id).order_by(AuditEvent.seq, AuditEvent.id)
        )
        broken = verify_chain(brief_id, head, events)
        if broken:
            breaks.append(broken)
    return breaks


@click.group("audit", help="The audit trail.", cls=AppGroup)
def cli() -> None:
    pass


@cli.command("verify")
def verify() -> None:
    """Report the first broken link of each brief's chain; exit 1 if any."""
    checked = db.session.scalar(select(db.func.count(Brief.id)))
    breaks = find_breaks()
    for b in breaks:
        where = f"event #{b.seq}" if b.seq is not None else "head"
        click.echo(f"brief {b.brief_id}: {where}: {b.problem}")
    if breaks:
        raise SystemExit(1)
    click.echo(f"audit chains intact for {checked} briefs")
