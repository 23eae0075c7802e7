"""Images in briefs: re-encoded uploads, stored like every file, referenced from the body."""
