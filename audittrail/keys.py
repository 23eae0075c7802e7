"""The audit keys: kept outside the database, in `instance/audit-keys.json` (mode 0600) or
the configuration, each with an id that every event records, so that keys can be rotated.

    {"current": "k20261201", "keys": {"k20261201": "<64 hex digits>"}}

`CANYUE_AUDIT_KEYS` in the configuration (a dict, or `id=hex,id=hex` in the environment) with
`CANYUE_AUDIT_KEY_ID` wins over the file. Rotating adds a key and makes it current; old keys
stay, since the events they made are verified with them.
"""

from __future__ import annotations

import json
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask, current_app

from workflows.audit import LEGACY_KEY_ID, Keyring, NoKeyring, provide_keyring

EXTENSION = "canyue.audit_keys"


def keys_file(app: Flask) -> Path:
    configured = app.config.get("CANYUE_AUDIT_KEYS_FILE")
    return Path(configured) if configured else Path(app.instance_path) / "audit-keys.json"


def _parse(raw: Any) -> dict[str, bytes]:
    if isinstance(raw, str):
        pairs = [item.split("=", 1) for item in raw.split(",") if item.strip()]
        raw = {kid.strip(): secret.strip() for kid, secret in pairs}
    return {str(kid): bytes.fromhex(secret) if isinstance(secret, str) else bytes(secret)
            for kid, secret in dict(raw).items()}


def load_keyring(app: Flask) -> Keyring | None:
    """The configured keys, or None when there are none yet."""
    configured = app.config.get("CANYUE_AUDIT_KEYS")
    if configured:
        keys = _parse(configured)
        current = app.config.get("CANYUE_AUDIT_KEY_ID") or sorted(keys)[-1]
        return Keyring(keys, current)
    path = keys_file(app)
    if not path.is_file():
        return None
    stored = json.loads(path.read_text(encoding="utf-8"))
    return Keyring(_parse(stored["keys"]), stored["current"])


def _write(path: Path, keyring: Keyring) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_suffix(".tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({"current": keyring.current, "keys": {k: v.hex() for k, v in keyring.keys.items()}},
                  handle, indent=2)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


def new_key_id(existing: set[str]) -> str:
    base = "k" + datetime.now(UTC).strftime("%Y%m%d")
    kid, n = base, 1
    while kid in existing or kid == LEGACY_KEY_ID:
        n += 1
        kid = f"{base}-{n}"
    return kid


def generate(app: Flask) -> tuple[Path, str] | None:
    """Write a first key file if there is no keyring; (file, key id), or None if one exists."""
    if load_keyring(app) is not None:
        return None
    path, kid = keys_file(app), new_key_id(set())
    _write(path, Keyring({kid: secrets.token_bytes(32)}, kid))
    return path, kid


def rotate(app: Flask) -> tuple[Path, str]:
    """Add a new key to the key file and make it current; the old keys stay for verifying."""
    if app.config.get("CANYUE_AUDIT_KEYS"):
        raise NoKeyring("the audit keys come from the configuration (CANYUE_AUDIT_KEYS): rotate them there")
    keyring = load_keyring(app)
    if keyring is None:
        raise NoKeyring("there is no audit key file to rotate: run `flask audit keygen` first")
    kid = new_key_id(set(keyring.keys))
    path = keys_file(app)
    _write(path, Keyring({**keyring.keys, kid: secrets.token_bytes(32)}, kid))
    app.extensions.pop(EXTENSION, None)
    return path, kid


def _app_keyring() -> Keyring:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    keyring = app.extensions.get(EXTENSION)
    if keyring is None:
        keyring = load_keyring(app)
        if keyring is None:
            raise NoKeyring(f"no audit key: run `flask --app app audit keygen` (writes {keys_file(app)})")
        app.extensions[EXTENSION] = keyring
    return keyring


def init_keys(app: Flask) -> None:
    provide_keyring(_app_keyring)
