"""Language: Chinese (zh_CN) by default, English as a per-user choice."""

from __future__ import annotations

from flask import Flask, current_app, request, session
from flask_babel import Babel, gettext
from flask_login import current_user

from workflows.limits import Problem


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    chosen = session.get("locale")
    if chosen in languages:
        return chosen
    # Someone not logged in gets Chinese unless they picked English on the login page.
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def translate(message: str | Exception | Problem) -> str:
    """Translate a text marked with workflows.i18n.N_ (kept free of Flask), or the message of
    an exception raised with one (and its `params`, if it has any), or a Problem of
    workflows.limits (or an exception carrying one as `problem`); a param that is itself a
    Problem is translated too."""
    problem = message if isinstance(message, Problem) else getattr(message, "problem", None)
    if isinstance(problem, Problem):
        text, params = problem.message, problem.params
    else:
        params = getattr(message, "params", None) or {}
        text = str(message)
    params = {k: translate(v) if isinstance(v, Problem) else v for k, v in params.items()}
    return gettext(text, **params) if text else text


def init_babel(app: Flask, babel: Babel) -> None:
    babel.init_app(app, locale_selector=select_locale, default_translation_directories="translations")
    app.jinja_env.globals["tr"] = translate

    @app.before_request
    def _remember_choice() -> None:
        lang = request.args.get("lang")
        if lang in app.config["LANGUAGES"] and not current_user.is_authenticated:
            session["locale"] = lang
