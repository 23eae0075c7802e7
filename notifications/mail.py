"""Notifications by e-mail: the job kind the worker runs for each mail (never a request or a
move's transaction), and the message — in the recipient's language (Chinese by default), with
a link to the brief. For a brief of a classified series the mail holds neither its title nor
any of its content: only "您有一份待办稿件" and the link.

SMTP settings (config.py, instance/config.py or the environment): CANYUE_MAIL_HOST, _PORT,
_SECURITY (none, starttls, tls), _USERNAME, _PASSWORD, _SENDER, _TIMEOUT; CANYUE_BASE_URL for links.
"""

from __future__ import annotations

import json
import re
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from flask import current_app, url_for
from flask_babel import force_locale, gettext

from i18n import translate
from jobs.registry import job_kind
from models import Brief, Notification, User
from notifications.kinds import CLASSIFIED_SUBJECT, HEADLINES, TODO
from workflows.brief import EVENT_LABELS, TRANSITIONS
from workflows.i18n import N_

MAIL_JOB = "notification.mail"

GREETING = N_("%(name)s:")
EVENT_LINE = N_("%(actor)s %(event)s.")
TODO_LINE = N_("On your list: %(todo)s")
REASON_LINE = N_("Reason: %(reason)s")
LINK_LINE = N_("Open the brief: %(link)s")
FOOTER = N_("Sent by Canyue. Which mails you get is up to you, on your account page: %(link)s")


def is_classified(brief: Brief) -> bool:
    """A brief of a series that classifies any 密级: its mail says nothing of it."""
    series = brief.series
    return series is not None and bool(series.classified_level_set)


def one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text or "").strip()


def _link(endpoint: str, **values: Any) -> str:
    base = str(current_app.config.get("CANYUE_BASE_URL") or "").rstrip("/")
    return base + url_for(endpoint, **values)


def compose(notification: Notification, user: User) -> EmailMessage:
    """The mail for `notification`, to `user`, in their language."""
    config = current_app.config
    locale = user.locale or config.get("BABEL_DEFAULT_LOCALE", "zh_CN")
    params = json.loads(notification.params or "{}")
    brief = notification.brief
    with current_app.test_request_context("/"), force_locale(locale):
        link = _link("briefs.show", brief_id=brief.id) if brief is not None else _link("notifications.index")
        if brief is None or is_classified(brief):
            subject = gettext(CLASSIFIED_SUBJECT)
            body = f"{subject}\n\n{link}\n"
        else:
            title = one_line(brief.title)
            subject = gettext(HEADLINES[notification.kind], title=title, actor=notification.actor_name)
            lines = [gettext(GREETING, name=user.display_name), "", f"《{title}》"]
            event = params.get("event")
            if notification.actor_name and event in EVENT_LABELS:
                lines.append(gettext(EVENT_LINE, actor=notification.actor_name, event=translate(EVENT_LABELS[event])))
            move = TRANSITIONS.get(params.get("move") or "")
            if notification.kind == TODO and move is not None and move.todo:
                lines.append(gettext(TODO_LINE, todo=translate(move.todo)))
            if params.get("reason"):
                lines.append(gettext(REASON_LINE, reason=params["reason"]))
            lines += ["", gettext(LINK_LINE, link=link), "", "-- ",
                      gettext(FOOTER, link=_link("auth.account"))]
            body = "\n".join(lines) + "\n"
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = config["CANYUE_MAIL_SENDER"]
    message["To"] = user.email or ""
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=str(config["CANYUE_MAIL_SENDER"]).rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body, charset="utf-8")
    return message


def send(message: EmailMessage) -> None:
    """Hand the message to the configured SMTP server (raises on any refusal: the job retries)."""
    config = current_app.config
    host, port = config["CANYUE_MAIL_HOST"], int(config["CANYUE_MAIL_PORT"])
    timeout = float(config.get("CANYUE_MAIL_TIMEOUT") or 30)
    security = str(config.get("CANYUE_MAIL_SECURITY") or "none").lower()
    if security not in {"none", "starttls", "tls"}:
        raise ValueError(f"CANYUE_MAIL_SECURITY must be none, starttls or tls, not {security!r}")
    context = ssl.create_default_context()
    smtp = (smtplib.SMTP_SSL(host, port, timeout=timeout, context=context) if security == "tls"
            else smtplib.SMTP(host, port, timeout=timeout))
    with smtp:
        smtp.ehlo()
        if security == "starttls":
            smtp.starttls(context=context)
            smtp.ehlo()
        if config.get("CANYUE_MAIL_USERNAME"):
            smtp.login(config["CANYUE_MAIL_USERNAME"], config.get("CANYUE_MAIL_PASSWORD") or "")
        smtp.send_message(message)


@job_kind(MAIL_JOB, max_attempts=5, backoff_seconds=60.0, lease_seconds=300.0)
def send_notification_mail(ctx: Any) -> None:
    notification = ctx.session.get(Notification, int(ctx.payload["notification_id"]))
    if notification is None:  # its brief or user was removed meanwhile
        return
    user = ctx.session.get(User, notification.user_id)
    if user is None or not user.active or not user.email or not current_app.config.get("CANYUE_MAIL_HOST"):
        return
    send(compose(notification, user))
