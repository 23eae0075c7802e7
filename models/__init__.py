"""The database models: typed SQLAlchemy 2 mappings through Flask-SQLAlchemy."""

from models.audit import AuditEvent
from models.brief import Brief, Revision
from models.series import Series
from models.user import User, UserRole

__all__ = ["AuditEvent", "Brief", "Revision", "Series", "User", "UserRole"]
