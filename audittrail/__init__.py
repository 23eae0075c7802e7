"""The audit trail's keys, its anchors outside the database, and its verification
(workflows/audit.py holds the hashing rules; workflows/transitions.record_event writes events)."""
