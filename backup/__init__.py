"""Backups: `flask --app app backup create | verify | restore`.

A backup is one tar file (optionally encrypted to an age public key), made while the app
serves, with the engines' own tools:

1. the database snapshot first: SQLite's online backup API (it includes what is still in the
   WAL) or `pg_dump -Fc` in an exported snapshot (snapshot.py);
2. then exactly the stored files that the snapshot's `stored_file` rows name, read from the
   snapshot, not the live database (files are immutable, so they are all there);
3. the anchor-log lines up to the snapshot's audit chain head, so that a restore never
   looks truncated to `audit verify`;
4. a manifest, the first member, with every member's SHA-256 and size (manifest.py).

Secrets (SECRET_KEY, the audit keys) are never in a backup; the manifest lists the audit key
ids its events and anchors need, and restore refuses to finish without them (`--no-keys`
restores anyway: `audit verify` then reports the trail unverifiable, not tampered).
"""
