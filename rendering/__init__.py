"""Turning brief content into HTML, diffs and the printed page."""
