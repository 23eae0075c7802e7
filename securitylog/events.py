"""The kinds of security events, as the auditor's screens name them. A kind not listed here is
shown by its code; whoever logs a new kind adds its label here (and, if its `subject_id` is a
user account, to ACCOUNT_EVENTS, so the log's user filter finds what was done to that user)."""

from __future__ import annotations

from workflows.i18n import N_

EVENT_LABELS: dict[str, str] = {
    "login": N_("Signed in"),
    "login_failed": N_("Sign-in failed"),
    "logout": N_("Signed out"),
    "user_created": N_("Account created"),
    "user_changed": N_("Account details changed"),
    "user_deactivated": N_("Account deactivated"),
    "user_activated": N_("Account activated"),
    "password_reset": N_("Password reset by an administrator"),
    "roles_changed": N_("Roles changed"),
    "series_created": N_("Series created"),
    "series_changed": N_("Series settings changed"),
    "classification_changed": N_("Classified levels or readers changed"),
    "bag_exported": N_("Archive exported (BagIt)"),
    "bag_downloaded": N_("Exported archive downloaded"),
    "job_started": N_("Background job started"),
    "csv_exported": N_("CSV exported"),
    "classified_download": N_("Classified issue downloaded"),
    "audit_verified": N_("Audit trail verified"),
    "secretary_linked": N_("Secretary linked to a leader"),
    "secretary_unlinked": N_("Secretary unlinked from a leader"),
    "delegation_created": N_("Delegation (委托) named"),
    "delegation_revoked": N_("Delegation (委托) ended"),
    "days_off_changed": N_("Days off changed"),
}

# Kinds whose subject_id is the user account they concern.
ACCOUNT_EVENTS: frozenset[str] = frozenset({
    "login", "login_failed", "logout", "user_created", "user_changed", "user_deactivated", "user_activated",
    "password_reset", "roles_changed", "delegation_created", "delegation_revoked",
})
