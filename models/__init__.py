"""The database models: typed SQLAlchemy 2 mappings through Flask-SQLAlchemy."""

from models.archive import ArchiveSequence
from models.audit import AuditChain, AuditEvent
from models.brief import Brief, Revision
from models.correction import Correction
from models.distribution import (
    Copy,
    DistributionEntry,
    DistributionRecall,
    DownloadLink,
    DownloadLog,
    Recipient,
    SeriesDistribution,
)
from models.files import StoredFile
from models.inbox import Comment, DayOff, Delegation
from models.job import Job
from models.notification import Notification, NotificationPreference
from models.series import Series
from models.signoff import FollowUp, FollowUpNote, Instruction, PaperSignoff, SecretaryLink
from models.signin import LoginThrottle, RecoveryCode, Setting, UserSession
from models.user import User, UserRole

__all__ = [
    "ArchiveSequence", "AuditChain", "AuditEvent", "Brief", "Comment", "Copy", "Correction", "DayOff", "Delegation",
    "DistributionEntry", "DistributionRecall", "DownloadLink", "DownloadLog", "FollowUp", "FollowUpNote", "Instruction",
    "Job", "LoginThrottle", "Notification", "NotificationPreference", "PaperSignoff", "Recipient", "RecoveryCode",
    "Revision", "SecretaryLink",
    "Series", "SeriesDistribution", "Setting", "StoredFile", "User", "UserRole", "UserSession",
]
