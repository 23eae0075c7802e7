"""`flask --app app backup create | verify | restore`: consistent online backups (backup/)."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from backup.create import create_backup
from backup.manifest import BackupError, describe, human_size, plural
from backup.restore import restore_backup
from backup.verify import verify_backup


@click.group("backup", help="Backups: create, verify, restore.", cls=AppGroup)
def cli() -> None:
    pass


def _app():  # type: ignore[no-untyped-def]
    return current_app._get_current_object()  # type: ignore[attr-defined]


@cli.command("create")
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="The backup file (default: instance/backups/canyue-backup-<UTC time>.tar).")
@click.option("--recipient", "recipients", multiple=True, metavar="AGE_PUBLIC_KEY",
              help="Encrypt to this age public key (age1…); may be given more than once.")
@click.option("--queue", "queued", is_flag=True,
              help="Run it as a background job (default file name) and follow it.")
def create(output: Path | None, recipients: tuple[str, ...], queued: bool) -> None:
    """Back up the database, the stored files it names and the audit anchors, while the app serves."""
    if queued:
        import json

        from longwork.cli import enqueue_and_follow
        from longwork.operations import BACKUP

        if output is not None:
            raise click.UsageError("--queue writes the default file name; leave out -o")
        done = json.loads(enqueue_and_follow(BACKUP, {"recipients": list(recipients)}, "backup").result or "{}")
        click.echo(f"backup written: {done.get('file')} ({human_size(int(done.get('bytes') or 0))}) "
                   f"in {done.get('seconds')} s")
        for note in done.get("notes") or ():
            click.echo(f"note: {note}")
        return
    try:
        made = create_backup(_app(), output, recipients)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    from extensions import db
    from status.system import record_backup

    record_backup(db.session, str(made.path), made.size)  # the admin's home shows it
    db.session.commit()
    m = made.manifest
    counts = m.counts
    files = m.files()
    encrypted = f", encrypted to {made.recipients} age recipient{'s' if made.recipients > 1 else ''}" \
        if made.recipients else ""
    click.echo(f"backup written: {made.path} ({human_size(made.size)}{encrypted}) in {made.seconds:.1f} s")
    database = m.by_name()[m.database]
    click.echo(f"  database: {m.engine} snapshot, {human_size(database.size)}, revision {m.alembic_revision}, "
               f"audit chain at event #{m.audit_seq}")
    click.echo(f"  {plural(len(files), 'stored file')} ({human_size(sum(f.size for f in files))}), "
               f"{plural(counts.get('anchors', 0), 'anchor line')}")
    click.echo(f"  {plural(counts.get('briefs', 0), 'brief')} ({counts.get('issued_briefs', 0)} issued), "
               f"{plural(counts.get('copies', 0), 'copy', 'copies')}, {plural(counts.get('users', 0), 'user')}, "
               f"{plural(counts.get('audit_events', 0), 'audit event')}")
    click.echo(f"  audit keys a restore needs (not in the backup): {', '.join(m.key_ids) or 'none'}")
    for note in made.notes:
        click.echo(f"note: {note}")


@cli.command("verify")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--identity", type=click.Path(path_type=Path), metavar="AGE_KEY_FILE",
              help="The age identity file of an encrypted backup.")
def verify(file: Path, identity: Path | None) -> None:
    """Re-check every member of a backup against its manifest; exit 1 on any difference."""
    try:
        report = verify_backup(file, identity)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    for kind, names in (("changed", report.changed), ("missing", report.missing),
                        ("not in the manifest", report.extra)):
        for name in names:
            click.echo(f"{kind}: {name}")
    if not report.ok:
        click.echo(f"backup BROKEN: {file}: {report.summary()}; {report.checked} members checked", err=True)
        raise SystemExit(1)
    click.echo(f"backup intact: {file}: {plural(report.checked, 'member')} ({human_size(report.size)}) match its "
               "manifest")
    click.echo(f"  {describe(report.manifest)}")
    click.echo(f"  audit keys a restore needs: {', '.join(report.manifest.key_ids) or 'none'}")


@cli.command("restore")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True,
              help="Restore over a non-empty instance (the old database and anchor log are moved aside, "
                   "other stored files to the store's quarantine).")
@click.option("--no-keys", is_flag=True,
              help="Restore even without the audit keys the backup needs (audit verify then reports "
                   "the trail unverifiable).")
@click.option("--identity", type=click.Path(path_type=Path), metavar="AGE_KEY_FILE",
              help="The age identity file of an encrypted backup.")
def restore(file: Path, force: bool, no_keys: bool, identity: Path | None) -> None:
    """Restore a backup into this (empty) instance: database, stored files, audit anchors."""
    try:
        done = restore_backup(_app(), file, identity, force=force, no_keys=no_keys)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    m = done.manifest
    click.echo(f"restored {file} in {done.seconds:.1f} s: {describe(m)}")
    click.echo(f"  database: {done.database}")
    click.echo(f"  {plural(done.files_written, 'stored file')} written ({human_size(done.size_written)}), "
               f"{done.files_present} already there; {plural(done.anchors, 'anchor line')}")
    if done.quarantined:
        click.echo(f"  {plural(done.quarantined, 'file')} the backup does not name moved to the store's quarantine")
    for path in done.moved_aside:
        click.echo(f"  moved aside: {path}")
    for note in done.notes:
        click.echo(f"note: {note}")
    click.echo("next: flask --app app audit verify; flask --app app archive verify")
