"""What every request brings in, checked before a view sees it: ids in the URL, whole numbers in
the query string, control characters in the address.

- `<int:…>` in every route is `IdConverter`: ASCII digits from 1 to the id columns' range, so
  /briefs/99999999999999999999999 and /briefs/٣ are no such page (404), never an overflow in the
  database.
- `int_arg` reads a whole number from the query string within bounds, or answers 400 saying so.
- A query string or path with control characters (NUL …) is refused with 400.

The bounds come from workflows/limits.py.
"""

from __future__ import annotations

from flask import Flask, abort, request
from flask_babel import gettext as _
from werkzeug.routing import IntegerConverter

from views.errors import error_page
from workflows.limits import MAX_ID, control_characters, parse_whole_number


class IdConverter(IntegerConverter):
    """An id in a URL: 1 to MAX_ID, ASCII digits only (werkzeug's `\\d+` takes '٣' and '１')."""

    regex = r"[0-9]{1,10}"

    def __init__(self, map, fixed_digits: int = 0, min: int | None = 1, max: int | None = MAX_ID,  # noqa: A002
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=False)


def int_arg(name: str, *, low: int = 1, high: int = MAX_ID, default: int | None = None) -> int | None:
    """The query argument `name` as a whole number from `low` to `high`; `default` when absent
    or empty; anything else is answered 400 with the reason."""
    raw = request.args.get(name)
    if raw is None or not raw.strip():
        return default
    value = parse_whole_number(raw, low, high)
    if value is None:
        abort(error_page(400, _("In the address, %(name)s must be a whole number from %(low)d to %(high)d.",
                                name=name, low=low, high=high)))
    return value


def init_inputs(app: Flask) -> None:
    """Before any blueprint is registered: the routes' <int:…> is bound when they are added."""
    app.url_map.converters["int"] = IdConverter

    @app.before_request
    def _refuse_control_characters() -> None:
        parts = [request.path, *(text for pair in request.args.items(multi=True) for text in pair)]
        for text in parts:
            found = control_characters(text)
            if found:
                abort(error_page(400, _("The address contains control characters (%(codes)s), which Canyue "
                                        "does not accept.", codes=", ".join(found[:5]))))
