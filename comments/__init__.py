"""The comment thread of a brief (not printed; part of its record and audit trail)."""
