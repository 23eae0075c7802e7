"""Error pages: every refusal says why, in the user's language."""

from __future__ import annotations

from flask import Flask, Response, make_response, render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, IntegrityError
from werkzeug.exceptions import HTTPException

TITLES = {
    400: _l("Bad request"),
    403: _l("Not allowed"),
    404: _l("Not found"),
    405: _l("Method not allowed"),
    409: _l("Not possible now"),
    422: _l("Cannot be accepted"),
    429: _l("Too many attempts"),
    500: _l("Something went wrong"),
}

MESSAGES = {
    400: _l("The request could not be understood."),
    403: _l("You may not do this."),
    404: _l("This page does not exist or you may not see it."),
    405: _l("This address does not accept that request."),
    429: _l("Too many failed attempts. Please wait a while before trying again."),
    500: _l("The request could not be handled. Nothing was changed."),
}


def error_page(code: int, message: str | None = None, kept_text: str = "") -> Response:
    """An error page; `kept_text` shows the user what they had typed, so it is not lost."""
    title = str(TITLES.get(code, _("Error")))
    text = message or str(MESSAGES.get(code, MESSAGES[500]))
    return make_response(render_template("error.html", code=code, title=title, message=text,
                                         kept_text=kept_text), code)


def _is_conflict(error: DBAPIError) -> bool:
    """A lock that timed out, a deadlock, a serialization failure, a unique key taken by a
    concurrent writer: the request lost a race, and trying again is the answer."""
    if isinstance(error, IntegrityError):
        return True
    text = str(error.orig).lower()
    return any(sign in text for sign in ("database is locked", "deadlock", "could not serialize",
                                         "lock timeout", "canceling statement due to lock"))


def init_errors(app: Flask) -> None:
    @app.errorhandler(DBAPIError)
    def _database(error: DBAPIError) -> Response:
        # The safety net behind the views' own conflict pages: never a 500 for a lost race.
        from extensions import db

        db.session.rollback()
        if _is_conflict(error):
            app.logger.warning("request lost a race: %s", error.orig)
            return error_page(409, _("Someone else was changing the same record at the same moment, so nothing "
                                     "was changed. Please go back, reload and try again."))
        app.logger.exception("database error")
        return error_page(500)

    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError) -> Response:
        return error_page(400, _("The form has expired. Please reload the page and try again."))

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> Response:
        return error_page(error.code or 500)
