"""The database models: typed SQLAlchemy 2 mappings through Flask-SQLAlchemy."""

from models.archive import ArchiveSequence
from models.audit import AuditEvent
from models.brief import Brief, Revision
from models.files import StoredFile
from models.series import Series
from models.user import User, UserRole

__all__ = ["ArchiveSequence", "AuditEvent", "Brief", "Revision", "Series", "StoredFile", "User", "UserRole"]
