"""作废: annulling an issued brief (workflows/brief.py, the `annul` row)."""
