"""WTForms (Flask-WTF): every form carries a CSRF token."""
