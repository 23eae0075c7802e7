"""Error pages: every refusal says why, in the user's language."""

from __future__ import annotations

from flask import Flask, Response, make_response, render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
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


def error_page(code: int, message: str | None = None) -> Response:
    title = str(TITLES.get(code, _("Error")))
    text = message or str(MESSAGES.get(code, MESSAGES[500]))
    return make_response(render_template("error.html", code=code, title=title, message=text), code)


def init_errors(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError) -> Response:
        return error_page(400, _("The form has expired. Please reload the page and try again."))

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> Response:
        return error_page(error.code or 500)
