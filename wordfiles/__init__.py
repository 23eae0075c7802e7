"""Briefs as Word files (.docx, from and for Word and WPS): reading a draft, writing the issue."""
