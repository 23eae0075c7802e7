"""The archive: filing (归档), search, import, fixity and export of issued briefs."""
