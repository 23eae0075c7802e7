"""The kinds of notification: what users choose per kind (in the app only, or also by mail),
and how each reads, in the app and in a mail's subject."""

from __future__ import annotations

from workflows.i18n import N_

TODO = "todo"  # a move left the user something to do on the brief
PUBLISHED = "published"  # the user's brief was published
RETURNED = "returned"  # the user's brief was returned or sent back
MENTIONED = "mentioned"  # someone @mentioned the user (comments)
REMINDER = "reminder"  # something of the user's is overdue (a daily reminder)

KINDS: tuple[str, ...] = (TODO, PUBLISHED, RETURNED, MENTIONED, REMINDER)

# The choice on the account page.
KIND_LABELS: dict[str, str] = {
    TODO: N_("Something waits for me"),
    PUBLISHED: N_("My brief was published"),
    RETURNED: N_("My brief was returned or sent back"),
    MENTIONED: N_("Someone mentioned me"),
    REMINDER: N_("Reminders of overdue work"),
}

# One line in the app and the mail's subject; %(title)s is the brief's title.
HEADLINES: dict[str, str] = {
    TODO: N_("Waiting for you: %(title)s"),
    PUBLISHED: N_("Your brief was published: %(title)s"),
    RETURNED: N_("Your brief came back to you: %(title)s"),
    MENTIONED: N_("%(actor)s mentioned you: %(title)s"),
    REMINDER: N_("Reminder, overdue: %(title)s"),
}

# What a mail says, subject and body, for a brief of a classified series: no title, no content.
CLASSIFIED_SUBJECT = N_("You have a brief waiting for you")
