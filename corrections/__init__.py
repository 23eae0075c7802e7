"""Corrections of an issued brief's date and numbers (更正): workflows/correction.py holds the
rules, operations.py applies them."""
