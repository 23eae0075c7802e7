"""The file store's guarantees, each test run twice: on a folder, and on S3-compatible object
storage (moto's server, a real S3-protocol server on 127.0.0.1 in its own process). Written
once and never overwritten; the SHA-256 re-checked on every download, streamed; `archive
verify` and its repair; backups hold the objects and restore them; BagIt export."""

from __future__ import annotations

import io
import tarfile
import tracemalloc
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import bagit
import pytest
from flask import Flask

import archive.fixity
from extensions import db
from models import Brief, StoredFile
from publishing.services import file_store
from publishing.storage import FixityError, StoreError, sha256_of
from tests.conftest import FILES_DIR, fetch
from tests.test_backup import assert_verifies, cli, fresh_instance  # noqa: F401  (a fixture)
from workflows.brief import State

STORE_KEYS = ("CANYUE_STORAGE_URL", "CANYUE_S3_ENDPOINT_URL", "CANYUE_S3_REGION", "CANYUE_S3_ACCESS_KEY_ID",
              "CANYUE_S3_SECRET_ACCESS_KEY")


@dataclass
class Backend:
    """The store under test, and raw access to it that bypasses the store (to damage it)."""

    kind: str
    s3: dict[str, str] | None = None
    prefix: str = ""

    def fresh_config(self) -> dict[str, Any]:
        """Configuration for another, empty store of the same kind (a restore's target)."""
        if self.s3 is None:
            return {}
        return {**self.s3, "CANYUE_STORAGE_URL": f"s3://canyue-test/{uuid.uuid4().hex[:12]}/data"}

    def _client(self) -> Any:
        from publishing.objectstore import make_client

        assert self.s3 is not None
        return make_client(self.s3)

    def overwrite(self, relative: str, data: bytes) -> None:
        if self.s3 is None:
            (FILES_DIR / relative).parent.mkdir(parents=True, exist_ok=True)
            (FILES_DIR / relative).write_bytes(data)
        else:
            self._client().put_object(Bucket="canyue-test", Key=self.prefix + relative, Body=data)

    def delete(self, relative: str) -> None:
        if self.s3 is None:
            (FILES_DIR / relative).unlink()
        else:
            self._client().delete_object(Bucket="canyue-test", Key=self.prefix + relative)

    def read(self, relative: str) -> bytes:
        if self.s3 is None:
            return (FILES_DIR / relative).read_bytes()
        return self._client().get_object(Bucket="canyue-test", Key=self.prefix + relative)["Body"].read()

    def names(self) -> set[str]:
        if self.s3 is None:
            return {p.relative_to(FILES_DIR).as_posix() for p in FILES_DIR.rglob("*") if p.is_file()}
        listed = self._client().list_objects_v2(Bucket="canyue-test", Prefix=self.prefix).get("Contents", [])
        return {item["Key"][len(self.prefix):] for item in listed}


@pytest.fixture(params=["folder", "s3"])
def backend(request: pytest.FixtureRequest, app: Flask) -> Iterator[Backend]:
    if request.param == "folder":
        yield Backend("folder")
        return
    s3 = request.getfixturevalue("s3_server")
    prefix = f"{uuid.uuid4().hex[:12]}/files/"
    saved = {key: app.config.get(key) for key in STORE_KEYS}
    app.config.update(s3, CANYUE_STORAGE_URL=f"s3://canyue-test/{prefix}")
    app.extensions.pop("canyue.store", None)
    try:
        yield Backend("s3", s3, prefix)
    finally:
        app.config.update(saved)
        app.extensions.pop("canyue.store", None)


def master(app: Flask, brief_id: int) -> StoredFile:
    with app.app_context():
        row = db.session.get(Brief, brief_id).master
        db.session.expunge(row)
        return row


def test_written_once_and_never_overwritten(app, backend):
    with app.app_context():
        store = file_store()
        first = store.put(b"%PDF- the real content")
        assert store.put(b"%PDF- the real content") == first  # the same bytes: the same file, reused
        assert store.read_verified(first.path, first.sha256) == b"%PDF- the real content"
        backend.overwrite(first.path, b"%PDF- bit rot")
        with pytest.raises(StoreError, match="damaged"):
            store.put(b"%PDF- the real content")  # never written over a damaged file
        assert backend.read(first.path) == b"%PDF- bit rot"
        other = store.put(b"%PDF- another file")
        staged = Path(app.instance_path).parent / f"staged-{uuid.uuid4().hex}"
        staged.write_bytes(b"something else")
        try:
            with pytest.raises(FileExistsError):
                store.place(other.path, staged)  # a restore never replaces a name that is taken
        finally:
            staged.unlink()
        assert backend.read(other.path) == b"%PDF- another file"


def test_download_rechecks_the_sha256_and_refuses_a_changed_file(app, backend, make_brief, login_as):
    brief_id = make_brief(State.PUBLISHED)
    row = master(app, brief_id)
    editor = login_as("editor")
    response = editor.get(f"/briefs/{brief_id}/issue.pdf")
    assert response.status_code == 200 and response.data == backend.read(row.path)
    assert sha256_of(response.data) == row.sha256 and response.content_length == row.size
    backend.overwrite(row.path, backend.read(row.path)[:-20] + b" " * 20)
    assert editor.get(f"/briefs/{brief_id}/issue.pdf").status_code == 409
    assert master(app, brief_id).check_problem == "changed"
    backend.delete(row.path)
    assert editor.get(f"/briefs/{brief_id}/issue.pdf").status_code == 409
    assert master(app, brief_id).check_problem == "missing"


def test_verified_reads_are_streamed_not_loaded_whole(app, backend):
    data = uuid.uuid4().bytes * (24 << 16)  # 24 MB
    with app.app_context():
        store = file_store()
        blob = store.put(data, suffix=".bin")
        tracemalloc.start()
        try:
            with store.open_verified(blob.path, blob.sha256) as handle:
                size = sum(len(block) for block in iter(lambda: handle.read(1 << 20), b""))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert size == len(data)
        assert peak < len(data) // 2, f"{peak} bytes held to check a {len(data)}-byte file"
        backend.overwrite(blob.path, data[:-1] + b"x")
        with pytest.raises(FixityError, match="does not match"):
            store.open_verified(blob.path, blob.sha256)


def test_archive_verify_and_repair(app, backend, make_brief, login_as, monkeypatch):
    changed, missing, fine = (make_brief(State.PUBLISHED, issue_date=date(2026, m, 1)) for m in (1, 2, 3))
    rows = {b: master(app, b) for b in (changed, missing, fine)}
    backend.overwrite(rows[changed].path, b"%PDF-1.7 replaced")
    backend.delete(rows[missing].path)
    backend.overwrite("sha256/00/stray.pdf", b"%PDF-1.7 nobody recorded me")
    code, output = cli(app, "archive", "verify")
    assert code == 1
    assert f"changed: {rows[changed].path}" in output and f"missing: {rows[missing].path}" in output
    assert "unexpected: sha256/00/stray.pdf" in output
    assert 'data-fixity="ok"' in login_as("archivist").get(f"/briefs/{fine}").get_data(as_text=True)
    code, output = cli(app, "archive", "verify", "--repair")
    assert "unexpected: sha256/00/stray.pdf (less than an hour old: left alone)" in output
    assert "sha256/00/stray.pdf" in backend.names()  # young: perhaps a publish in progress, left
    monkeypatch.setattr(archive.fixity, "REPAIR_MIN_AGE_SECONDS", -1)
    code, output = cli(app, "archive", "verify", "--repair")
    assert "quarantined: sha256/00/stray.pdf -> quarantine/" in output
    names = backend.names()
    assert "sha256/00/stray.pdf" not in names
    assert any(n.startswith("quarantine/") and n.endswith("/sha256/00/stray.pdf") for n in names)
    assert rows[fine].path in names and rows[changed].path in names  # referenced files are never moved
    assert "3 files checked; 1 missing, 1 changed, 0 unexpected" in cli(app, "archive", "verify")[1]


def test_backup_holds_the_objects_and_restores_them(app, backend, make_brief, fresh_instance, tmp_path):
    ids = [make_brief(State.PUBLISHED, issue_date=date(2026, m, 1)) for m in (1, 2)]
    rows = [master(app, b) for b in ids]
    backup = tmp_path / "canyue.tar"
    code, output = cli(app, "backup", "create", "-o", backup)
    assert code == 0, output
    with tarfile.open(backup) as tar:
        names = set(tar.getnames())
    assert {f"files/{row.path}" for row in rows} <= names
    restored = fresh_instance("restored", **backend.fresh_config())
    code, output = cli(restored, "backup", "restore", backup)
    assert code == 0, output
    assert_verifies(restored)
    with restored.app_context():
        store = file_store()
        for row in rows:
            assert store.read_verified(row.path, row.sha256) == backend.read(row.path)


def test_a_backup_refuses_a_changed_object(app, backend, make_brief, tmp_path):
    row = master(app, make_brief(State.PUBLISHED))
    backend.overwrite(row.path, b"%PDF-1.7 replaced")
    code, output = cli(app, "backup", "create", "-o", tmp_path / "canyue.tar")
    assert code == 1 and row.path in output


def test_bagit_export_from_the_store(app, backend, make_brief, login_as, tmp_path):
    ids = [make_brief(State.PUBLISHED, issue_date=date(2026, m, 1)) for m in (1, 2)]
    archivist = login_as("archivist")
    series = str(fetch(app, ids[0]).series_id)
    from tests.test_archive import export_over_http

    response = export_over_http(app, archivist, {"series": series, "year": "2026"})  # a job, then its download
    assert response.status_code == 200 and response.mimetype == "application/zip"
    exports = [name for name in backend.names() if name.startswith("exports/")]  # kept in the store: any node serves it
    assert len(exports) == 1 and backend.read(exports[0]) == response.data
    with zipfile.ZipFile(io.BytesIO(response.data)) as bundle:
        bundle.extractall(tmp_path)
    bag_dir = next(p for p in tmp_path.iterdir() if p.is_dir())
    bagit.Bag(str(bag_dir)).validate()
    pdfs = sorted((bag_dir / "data").rglob("issue.pdf"))
    assert sorted(p.read_bytes() for p in pdfs) == sorted(backend.read(master(app, b).path) for b in ids)
    backend.overwrite(master(app, ids[0]).path, b"%PDF-1.7 replaced")
    refused = export_over_http(app, archivist, {"series": series, "year": "2026"})  # the job fails: no bag
    assert 'data-state="failed"' in refused.get_data(as_text=True)
