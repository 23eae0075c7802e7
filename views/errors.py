"""Error pages: every refusal says why, in the user's language."""

from __future__ import annotations

from flask import Flask, Response, current_app, make_response, render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from werkzeug.exceptions import HTTPException

from workflows.limits import InputRefused, LimitExceeded

TITLES = {
    400: _l("Bad request"),
    403: _l("Not allowed"),
    404: _l("Not found"),
    405: _l("Method not allowed"),
    409: _l("Not possible now"),
    413: _l("Too large"),
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


def too_large_message() -> str:
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    return _("What was sent is larger than %(size)s MB, the most Canyue accepts at once. Nothing was saved: "
             "send smaller files, or fewer at a time.", size=f"{limit / (1024 * 1024):g}")


def _rollback() -> None:
    from extensions import db

    db.session.rollback()


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
        if isinstance(error, DataError):
            # A value the column cannot hold (too long, out of range): the views and forms check
            # the bounds of workflows/limits.py first, so this is the net behind them.
            app.logger.error("a value the database refused reached it: %s", error.orig)
            return error_page(422, _("A value is too long or out of range, so nothing was saved. Please "
                                     "check what you entered."))
        app.logger.exception("database error")
        return error_page(500)

    @app.errorhandler(InputRefused)
    def _input(error: InputRefused) -> Response:
        # A NUL character reached the database (database.py refuses it on both engines).
        _rollback()
        from i18n import translate

        app.logger.warning("input refused: %s", error)
        return error_page(400, translate(error))

    @app.errorhandler(LimitExceeded)
    def _limit(error: LimitExceeded) -> Response:
        # An operation refused a value beyond a domain limit that no form had caught.
        _rollback()
        from i18n import translate

        return error_page(422, translate(error))

    @app.errorhandler(OverflowError)
    def _overflow(error: OverflowError) -> Response:
        # The net behind the bounded ids and numbers: SQLite's driver raises this for an integer
        # beyond 64 bits (PostgreSQL's "out of range" is a DataError, above).
        _rollback()
        app.logger.error("a number out of range reached the code: %s", error)
        return error_page(400, _("A number in the request is out of range, so nothing was done."))

    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError) -> Response:
        return error_page(400, _("The form has expired. Please reload the page and try again."))

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> Response:
        if error.code == 413:
            return error_page(413, too_large_message())
        return error_page(error.code or 500)
