"""System status for the administrator's home: accounts, series, the last backup, the last
fixity run (and, once the mail queue lands, failed mail)."""
