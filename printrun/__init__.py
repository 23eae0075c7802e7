"""The print run for the 机要员: every paper copy of an issue in one PDF, ready for a duplex printer."""
