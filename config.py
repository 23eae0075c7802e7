"""Configuration: these defaults, then instance/config.py, then environment variables."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

# Environment variables read by `from_environment`, with the type each is parsed as.
ENVIRONMENT: dict[str, type] = {
    "SECRET_KEY": str,
    "DATABASE_URL": str,
    "RATELIMIT_STORAGE_URI": str,
    "SESSION_IDLE_MINUTES": int,
    "SESSION_COOKIE_SECURE": bool,
    "SESSION_MAX_HOURS": float,
    "LOGIN_MAX_FAILURES": int,
    "LOGIN_FAILURE_WINDOW_MINUTES": float,
    "LOGIN_DELAY_AFTER": int,
    "LOGIN_ADDRESS_DELAY_AFTER": int,
    "LOGIN_DELAY_SECONDS": float,
    "LOGIN_DELAY_MAX_SECONDS": float,
    "LOGIN_DELAY_RESET_MINUTES": float,
    "CANYUE_DEVICE_COOKIE_DAYS": int,
    "CANYUE_PASSWORD_MIN_LENGTH": int,
    "CANYUE_2FA_REQUIRED_ROLES": str,
    "CANYUE_CLASSIFICATIONS": str,
    "CANYUE_SIGN_PHRASES": str,
    "CANYUE_INSTRUCTION_LEVELS": str,
    "PROXY_FIX_X_FOR": int,
    "CANYUE_FILES_DIR": str,
    "CANYUE_STORAGE_URL": str,
    "CANYUE_S3_ENDPOINT_URL": str,
    "CANYUE_S3_REGION": str,
    "CANYUE_S3_ACCESS_KEY_ID": str,
    "CANYUE_S3_SECRET_ACCESS_KEY": str,
    "CANYUE_S3_PATH_STYLE": bool,
    "CANYUE_METRICS_TOKEN": str,
    "CANYUE_LOG_FORMAT": str,
    "CANYUE_FONTS_DIR": str,
    "CANYUE_FONDS_CODE": str,
    "CANYUE_RECEIPT_OVERDUE_DAYS": int,
    "CANYUE_AUDIT_KEYS": str,
    "CANYUE_AUDIT_KEY_ID": str,
    "CANYUE_AUDIT_KEYS_FILE": str,
    "CANYUE_AUDIT_ANCHOR_FILE": str,
    "CANYUE_MAX_PRINT_RUN": int,
    "CANYUE_ISSUE_DATE_HORIZON_DAYS": int,
    "MAX_CONTENT_LENGTH": int,
    "CANYUE_PREVIEW_CACHE_DIR": str,
    "CANYUE_PREVIEW_CACHE_MB": int,
    "CANYUE_PREVIEW_CACHE_HOURS": int,
    "CANYUE_PREVIEW_RENDERS": int,
    "CANYUE_PREVIEW_RENDER_MINUTES": int,
    "CANYUE_THROTTLE_DIR": str,
    "CANYUE_JOBS_URL": str,
    "CANYUE_EXPORT_KEEP_DAYS": int,
    "CANYUE_JOB_STEP_DELAY": float,
    "CANYUE_BASE_URL": str,
    "CANYUE_MAIL_HOST": str,
    "CANYUE_MAIL_PORT": int,
    "CANYUE_MAIL_SECURITY": str,
    "CANYUE_MAIL_USERNAME": str,
    "CANYUE_MAIL_PASSWORD": str,
    "CANYUE_MAIL_SENDER": str,
    "CANYUE_MAIL_TIMEOUT": float,
}


class DefaultConfig:
    SECRET_KEY: str | None = None  # instance/config.py or SECRET_KEY; `serve` writes one
    SQLALCHEMY_DATABASE_URI = "sqlite:///canyue.sqlite3"  # relative to instance/
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {}

    # Sessions are rows in the database (signin/sessions.py); the cookie carries a random id.
    # A session ends after this much inactivity, and this long after sign-in whatever happens.
    SESSION_IDLE_MINUTES = 30
    SESSION_MAX_HOURS = 12.0
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False  # set True behind HTTPS
    # Number of reverse proxies in front of the app whose X-Forwarded-For/-Proto to trust
    # (0: none). Per-address login throttling needs the real client address.
    PROXY_FIX_X_FOR = 0

    # Failed sign-ins (signin/throttle.py), counted in the database, shared by every worker;
    # redis://… to count them in Redis instead.
    RATELIMIT_STORAGE_URI = "database"
    # One account from one address: refused after this many failures, until the window ends.
    LOGIN_MAX_FAILURES = 5
    LOGIN_FAILURE_WINDOW_MINUTES = 15.0
    # The account as a whole (any address), and one address across accounts: after this many
    # failures each failure imposes a wait, doubled each time, capped; never a lock-out.
    LOGIN_DELAY_AFTER = 5
    LOGIN_ADDRESS_DELAY_AFTER = 20
    LOGIN_DELAY_SECONDS = 1.0
    LOGIN_DELAY_MAX_SECONDS = 900.0
    LOGIN_DELAY_RESET_MINUTES = 60.0
    # A browser that signed in carries a signed device cookie this long: it skips the delays.
    CANYUE_DEVICE_COOKIE_DAYS = 90

    # The password policy (signin/passwords.py): minimum length; never the username, never a
    # common password (signin/common-passwords.txt).
    CANYUE_PASSWORD_MIN_LENGTH = 10
    # Two-factor sign-in is required for these roles unless the security administrator's
    # policy (a database setting: `flask security 2fa-policy`) says otherwise; offered to all.
    CANYUE_2FA_REQUIRED_ROLES = "signer,secretary,admin,security_admin,auditor"

    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = {"zh_CN": "中文", "en": "English"}

    # 密级 levels offered on a brief, comma-separated; "" (none) is always offered.
    # Classified 涉密 levels belong only on a certified system.
    CANYUE_CLASSIFICATIONS = "内部"
    # The stock phrases a leader picks from when signing (签发意见), one per "|".
    CANYUE_SIGN_PHRASES = "同意印发|同意，请按程序印发|请修改后再报|阅"
    # The levels of leader a 批示 is counted by (comma-separated, highest first).
    CANYUE_INSTRUCTION_LEVELS = "省部级,市委书记/市长,副市级,部门"
    CANYUE_URGENCIES = "加急,特急"
    CANYUE_DEFAULT_CLASSIFICATION = "内部"

    # Filing (归档): the 全宗号 of the organisation and the 门类代码 of its bulletins (DA/T 22).
    CANYUE_FONDS_CODE = "Z001"
    CANYUE_ARCHIVE_CATEGORY = "WS"

    # Stored files (archival PDFs): instance/files unless set (a volume in production).
    CANYUE_FILES_DIR: str | None = None
    # Or S3-compatible object storage (publishing/objectstore.py): s3://bucket/prefix, with the
    # endpoint (MinIO, Ceph: https://s3.example.org), region and keys (else boto3's own chain).
    CANYUE_STORAGE_URL: str | None = None
    CANYUE_S3_ENDPOINT_URL: str | None = None
    CANYUE_S3_REGION: str | None = None
    CANYUE_S3_ACCESS_KEY_ID: str | None = None
    CANYUE_S3_SECRET_ACCESS_KEY: str | None = None
    CANYUE_S3_PATH_STYLE = True  # bucket in the path (MinIO, Ceph); False: virtual-host style
    # Licensed fonts: instance/fonts unless set. Font roles name a family per role
    # (fangsong, title, heiti, kaiti) when the official names are not the ones installed.
    CANYUE_FONTS_DIR: str | None = None
    CANYUE_FONT_ROLES: dict[str, str] | None = None
    # The face names an exported .docx asks for (w:eastAsia), per role: fangsong, title, hei,
    # kai. Default: the official names office PCs have (wordfiles/styles.py DEFAULT_FONTS).
    CANYUE_WORD_FONTS: dict[str, str] | None = None

    # Distribution: a dispatched copy not signed for after this many days is overdue.
    CANYUE_RECEIPT_OVERDUE_DAYS = 7
    # A publish makes at most this many copies, so that it finishes well within a worker's timeout.
    CANYUE_MAX_PRINT_RUN = 2000
    # An issue date further ahead than this is a typing error (publish and import refuse it).
    CANYUE_ISSUE_DATE_HORIZON_DAYS = 31

    # The largest request accepted, uploads included (bytes): anything bigger is answered 413
    # before it is read. The limits on what a request holds are in workflows/limits.py.
    MAX_CONTENT_LENGTH = 20 * 1024 * 1024

    # Specimen PDFs (preview.pdf) are kept, per brief version and print run, in this folder
    # (instance/cache/specimens unless set), at most this many MB and hours old.
    CANYUE_PREVIEW_CACHE_DIR: str | None = None
    CANYUE_PREVIEW_CACHE_MB = 200
    CANYUE_PREVIEW_CACHE_HOURS = 24
    # Each user may have this many specimens rendered (cache misses) per this many minutes;
    # counted in files under this folder (instance/throttle unless set), shared by all workers.
    CANYUE_PREVIEW_RENDERS = 10
    CANYUE_PREVIEW_RENDER_MINUTES = 10
    CANYUE_THROTTLE_DIR: str | None = None

    # The background job queue (jobs/): "" for a SQLite file in instance/ (jobs.sqlite3),
    # redis://host:6379/0 for Redis (several machines), memory:// for tests only.
    CANYUE_JOBS_URL = ""
    # Finished BagIt exports wait for their download in the file store (exports/<job id>/, so
    # any app node serves them) this many days, then a daily job deletes them; and a pause
    # after each step of long work (tests and demonstrations only).
    CANYUE_EXPORT_KEEP_DAYS = 7
    CANYUE_JOB_STEP_DELAY = 0.0
    # Notifications by e-mail (notifications/mail.py), sent only by the worker. No host: in the
    # app only. Security: "none", "starttls" (upgrade on the port, usually 587) or "tls" (465).
    CANYUE_MAIL_HOST: str | None = None
    CANYUE_MAIL_PORT = 25
    CANYUE_MAIL_SECURITY = "none"
    CANYUE_MAIL_USERNAME: str | None = None
    CANYUE_MAIL_PASSWORD: str | None = None
    CANYUE_MAIL_SENDER = "canyue@localhost"
    CANYUE_MAIL_TIMEOUT = 30.0
    # The address users reach Canyue at, for the links in mail (e.g. https://canyue.example.org).
    CANYUE_BASE_URL = "http://127.0.0.1:5000"

    # Operations (status/): /metrics is served to this bearer token, or without one only to
    # requests from this machine; logs are one JSON object a line ("json") or plain text ("text").
    CANYUE_METRICS_TOKEN: str | None = None
    CANYUE_LOG_FORMAT = "text"

    # The audit trail's keys (audittrail/keys.py): instance/audit-keys.json unless given here
    # as {"key id": "hex secret"} with the current id. Never in the database or a backup.
    CANYUE_AUDIT_KEYS: dict[str, str] | str | None = None
    CANYUE_AUDIT_KEY_ID: str | None = None
    CANYUE_AUDIT_KEYS_FILE: str | None = None
    # The anchors of the audit trail, outside the database: instance/audit-anchors.log unless set.
    CANYUE_AUDIT_ANCHOR_FILE: str | None = None


def from_environment(environ: dict[str, str] | None = None) -> dict[str, Any]:
    environ = dict(os.environ if environ is None else environ)
    found: dict[str, Any] = {}
    for name, kind in ENVIRONMENT.items():
        if name not in environ:
            continue
        raw = environ[name]
        if kind is bool:
            found[name] = raw.strip().lower() in {"1", "true", "yes", "on"}
        elif kind is int:
            found[name] = int(raw)
        elif kind is float:
            found[name] = float(raw)
        else:
            found[name] = raw
    if "DATABASE_URL" in found:
        found["SQLALCHEMY_DATABASE_URI"] = database_uri(found.pop("DATABASE_URL"))
    return found


def database_uri(url: str) -> str:
    """Accept plain postgres:// URLs and use the psycopg 3 driver for them."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def finalise(config: dict[str, Any]) -> None:
    """Derived settings, after every source has been read."""
    config["PERMANENT_SESSION_LIFETIME"] = timedelta(minutes=int(config["SESSION_IDLE_MINUTES"]))
    uri = config["SQLALCHEMY_DATABASE_URI"]
    options = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if uri.startswith("sqlite"):
        # Concurrent writers (two editors publishing at once) wait for the lock, not fail.
        options.setdefault("connect_args", {}).setdefault("timeout", 30)
    else:
        options.setdefault("pool_pre_ping", True)
    config["SQLALCHEMY_ENGINE_OPTIONS"] = options
