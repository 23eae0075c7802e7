"""User accounts under 三员分立: the admin creates, changes and deactivates them, the security
administrator grants their roles, and every change is a line of the security log
(`operations.py`; the rules are in workflows/policy.py and workflows/roles.py)."""
