"""Session lifetime and response headers."""

from __future__ import annotations

from flask import Flask, Response, session
from werkzeug.middleware.proxy_fix import ProxyFix


def init_security(app: Flask) -> None:
    hops = int(app.config.get("PROXY_FIX_X_FOR") or 0)
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]

    @app.before_request
    def _idle_timeout() -> None:
        # A permanent session's signed cookie carries its time; each request renews it, so
        # PERMANENT_SESSION_LIFETIME is an inactivity limit, checked on the server.
        session.permanent = True

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "object-src 'none'; base-uri 'none'; frame-ancestors 'self'; form-action 'self'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        return response
