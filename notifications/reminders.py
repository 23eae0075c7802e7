"""The daily reminder: a periodic job (jobs/registry.py) that tells whoever holds an overdue
brief, its editor and any delegate (inbox/reminders.py decides who) with a `reminder`
notification — in the app, and by mail for those who chose so. 00:00 UTC is 08:00 in Beijing."""

from __future__ import annotations

from typing import Any

from jobs.registry import crontab, job_kind, periodic
from notifications.kinds import REMINDER
from notifications.operations import notify

DAILY_REMINDER = "notification.daily_reminder"


@job_kind(DAILY_REMINDER, max_attempts=3, backoff_seconds=300.0)
def send_daily_reminders(ctx: Any) -> None:
    from inbox.reminders import overdue_reminders

    for reminder in overdue_reminders(ctx.session):
        notify(ctx.session, [reminder.user.id], REMINDER, reminder.brief, None, why=reminder.why)


periodic(DAILY_REMINDER, crontab(minute="0", hour="0"))
