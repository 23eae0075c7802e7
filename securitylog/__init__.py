"""The security log (等保 2.0): sign-ins and their failures, 2FA changes, role and user
changes, settings changes, exports and downloads of classified issues. Kept in the same keyed,
chained and anchored trail as the briefs' history (workflows/audit.py): installation events
with subject type "security" and no brief, so `audit verify` covers them and nothing can be
removed unseen."""
