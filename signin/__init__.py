"""Signing in (等保 2.0 level 3, OWASP ASVS L2): failed-attempt throttling shared by every
worker through the database (or Redis), server-side sessions, the password policy, two-factor
sign-in with TOTP and recovery codes, and the security log of all of it."""
