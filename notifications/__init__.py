"""Notifications: each lifecycle move tells the people who now have something to do, and the
author when their brief is published or returned (notifications/moves.py); other features call
`notifications.operations.notify`. A notification is a row (the bell, /notifications) and, if
the user has an address and chose so for its kind, a mail sent by the worker through the job
outbox (notifications/mail.py) — never inside a request or a move's transaction."""
