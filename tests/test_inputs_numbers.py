"""Numbers from outside: huge and odd integers in every route, query argument and form field are
refused (404 for an id, 400 for an argument, 422 for a form), never a 500.

The walk covers every rule of the URL map: a new route with an <int:…> part is tested
without being named here."""

from __future__ import annotations

import io
import re
from datetime import date
from urllib.parse import quote

import pytest
from sqlalchemy import func, select
from werkzeug.routing import IntegerConverter

from extensions import db
from models import Brief, Copy, DistributionEntry, Recipient, Revision, SeriesDistribution
from tests.conftest import fetch
from workflows import distribution as lists
from workflows.brief import TRANSITIONS, State
from workflows.limits import MAX_COPIES_PER_LINE, MAX_ID, parse_whole_number

HUGE = ["99999999999999999999999", str(2**31), str(2**63), "9" * 5000]
ODD = ["²", "٣", "１", "-1", "0", "1e3", "0x10", "1.5", "+7", "1_0", " 7"]

# Plausible values for the parts of a rule that are not integers.
OTHER_PARTS = {"action": "submit", "direction": "up", "token": "not-a-token", "day": "2026-10-08",
               "filename": "issue.pdf"}

QUERY_NUMBERS = ("page", "year", "series", "year_from", "year_to", "a", "b", "copies", "version")


@pytest.fixture(autouse=True)
def as_served(app):
    """Unhandled errors answer 500, as under gunicorn, instead of reaching the test."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    yield
    app.config["PROPAGATE_EXCEPTIONS"] = None


@pytest.fixture
def world(app, people, series_id, make_brief, clerk):
    """Something of every kind, so that the views get past their 404s: briefs in several
    states, an issue with copies, recipients and a series list."""
    with app.app_context():
        recipient = Recipient(name="市委办公室", title="", organisation="中共苏州市委", category="报", default_copies=2)
        db.session.add(recipient)
        db.session.flush()
        lists.replace_series_list(db.session, series_id, [(recipient.id, "报", 2, "printed")])
        db.session.commit()
        recipient_id = recipient.id
    draft = make_brief(State.DRAFT)
    signed = make_brief(State.SIGNED)
    published = make_brief(State.PUBLISHED, issue_date=date(2026, 1, 5))
    with app.app_context():
        copy_id = db.session.scalar(select(Copy.id).where(Copy.brief_id == published).order_by(Copy.id))
        entry_id = db.session.scalar(select(DistributionEntry.id).where(DistributionEntry.brief_id == draft))
    return {"brief_id": draft, "signed": signed, "published": published, "copy_id": copy_id,
            "entry_id": entry_id, "recipient_id": recipient_id, "series_id": series_id,
            "user_id": people["drafter2"], "link_id": 1, "number": 1,
            # the later features' ids: 1 names a row or none; either way never a 500
            "delegation_id": 1, "file_id": 1, "follow_up_id": 1, "job_id": 1, "notification_id": 1,
            "leader_id": people["signer"], "secretary_id": 1}


def int_parts(rule) -> list[str]:
    return [name for name, converter in rule._converters.items() if isinstance(converter, IntegerConverter)]


def url_of(rule, values: dict) -> str:
    def value(match: re.Match) -> str:
        name = match.group(1)
        return quote(str(values[name] if name in values else OTHER_PARTS[name]), safe="")
    return re.sub(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>", value, rule.rule)


def every_csrf_name() -> list[str]:
    prefixes = [""] + [f"{a}-" for a in TRANSITIONS] + [f"{a}-" for a in (
        "dispatch", "receive", "return_copy", "destroy", "lose", "profile", "password")]
    return [f"{p}csrf_token" for p in prefixes]


def form_numbers(value: str) -> dict:
    """Every integer a form of Canyue reads, set to `value`."""
    names = ["version", "copies", "default_copies", "recipient_id", "rid-0", "copies-0", "add_recipient",
             "add_copies", "remove", "copy", "year", "first_item", "series", "days", "default_print_run",
             "first_total_number", "series_id", "a", "b", "copies-1", "signed-1"]
    names += [f"{a}-version" for a in TRANSITIONS]
    names += [f"{a}-version" for a in ("dispatch", "receive", "return_copy", "destroy", "lose")]
    return {n: value for n in names} | {"cat-0": "报", "medium-0": "printed", "title": "标题", "name": "名字",
                                         "category": "报", "medium": "printed", "retention": "Y",
                                         "issue_date": "2026-01-06", "timezone": "Asia/Shanghai",
                                         "hosts": "苏州太湖书院", "supplement_numbering": "shared"}


PERSONAS = ("admin", "editor", "archivist", "drafter", "clerk")


def test_the_int_converter_is_bounded_ascii(app):
    converter = app.url_map.converters["int"]
    assert issubclass(converter, IntegerConverter)
    adapter = app.url_map.bind("canyue.test")
    assert adapter.match(f"/briefs/{MAX_ID}")[1] == {"brief_id": MAX_ID}
    for bad in [*HUGE, "²", "٣", "１", "0"]:
        with pytest.raises(Exception) as raised:
            adapter.match(f"/briefs/{bad}")
        assert getattr(raised.value, "code", None) == 404, bad


def test_parse_whole_number_takes_ascii_digits_only():
    assert parse_whole_number("42", 1, 100) == 42
    assert parse_whole_number(" 42 ", 1, 100) == 42
    for bad in [*HUGE, *ODD[:-1], "", "101", "abc"]:
        assert parse_whole_number(bad, 1, 100) is None, bad


def test_every_int_route_refuses_huge_and_odd_ids(app, world, login_as):
    clients = {name: login_as(name) for name in PERSONAS}
    checked = 0
    failures = []
    for rule in app.url_map.iter_rules():
        parts = int_parts(rule)
        if not parts:
            continue
        for part in parts:
            for index, bad in enumerate(HUGE + ODD):
                url = url_of(rule, {**world, part: bad})
                # The int converter refuses in routing, before any view or sign-in check runs,
                # so one persona per value, in turn (each route meets them all), is enough.
                persona = list(clients)[index % len(clients)]
                for client in (clients[persona],):
                    for method in [m for m in ("GET", "POST") if m in rule.methods]:
                        if method == "GET":
                            response = client.http.get(url)
                        else:
                            response = client.http.post(url, data={**form_numbers("1"),
                                                                   **{n: client.token() for n in every_csrf_name()}})
                        if response.status_code != 404:
                            failures.append((persona, method, url[:80], response.status_code))
                        checked += 1
    assert not failures, failures[:20]
    assert checked > 1000


def test_every_route_refuses_huge_and_odd_query_numbers_and_form_numbers(app, world, login_as):
    clients = {name: login_as(name) for name in PERSONAS}
    failures = []
    checked = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint == "auth.logout":
            continue
        values = dict(world)
        values["brief_id"] = {"briefs.publish_form": world["signed"], "archive.file_form": world["published"],
                              "distribution.board_page": world["published"]}.get(rule.endpoint, world["brief_id"])
        url = url_of(rule, values)
        for index, bad in enumerate(HUGE + ODD):
            query = "&".join(f"{name}={quote(bad)}" for name in QUERY_NUMBERS)
            # Every persona gets every huge value; the odd ones go round the personas (each
            # persona meets a different few on each route, every one is tried on each route).
            persona_round = clients.items() if bad in HUGE else [
                list(clients.items())[(index + len(checked)) % len(clients)]]
            for persona, client in persona_round:
                if "GET" in rule.methods:
                    response = client.http.get(f"{url}?{query}")
                    if response.status_code >= 500:
                        failures.append((persona, "GET", rule.rule, bad[:10], response.status_code))
                if "POST" in rule.methods:
                    data = {**form_numbers(bad), **{n: client.token() for n in every_csrf_name()}}
                    response = client.http.post(url, data=data)
                    if response.status_code >= 500:
                        failures.append((persona, "POST", rule.rule, bad[:10], response.status_code))
            checked.add(rule.endpoint)
    assert not failures, failures[:20]
    assert len(checked) > 40


@pytest.mark.parametrize("name,value", [("page", "99999999999999999999999"), ("series", str(2**40)),
                                        ("year", "²"), ("year_from", "99999")])
def test_a_query_number_out_of_range_is_a_400_that_says_so(app, world, login_as, name, value):
    client = login_as("archivist")
    url = "/archive/search?q=低空&" if name in ("page", "year_from") else "/archive?"
    response = client.get(f"{url}{name}={quote(value)}")
    assert response.status_code == 400
    assert name in response.get_data(as_text=True)


def test_a_version_in_unicode_digits_is_a_400_not_a_500(app, world, login_as):
    brief_id = world["brief_id"]
    client = login_as("drafter")
    response = client.post(f"/briefs/{brief_id}/edit", {"title": "改", "body": "正文", "classification": "",
                                                         "urgency": "", "version": "²"})
    assert response.status_code == 400
    assert fetch(app, brief_id).revision_number == 1
    response = client.post(f"/briefs/{brief_id}/act/submit", {"submit-version": "²"}, prefix="submit")
    assert response.status_code == 400
    assert fetch(app, brief_id).state == State.DRAFT.value


# --- Copy counts: one bound, from workflows.limits --------------------------------------------------


def _recipient_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Recipient.id)))


@pytest.mark.parametrize("copies", [str(MAX_COPIES_PER_LINE + 1), "1000000", "1" + "0" * 20, "²", "٣"])
def test_csv_default_copies_are_bounded(app, world, login_as, copies):
    before = _recipient_count(app)
    body = f"姓名或单位,职务,所在单位,类别,默认份数\r\n赵九,处长,市研究室,送,{copies}\r\n".encode()
    response = login_as("editor").post("/recipients/import", {"file": (io.BytesIO(body), "r.csv")},
                                       content_type="multipart/form-data")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'data-line="2"' in page and str(MAX_COPIES_PER_LINE) in page
    assert _recipient_count(app) == before


def test_csv_default_copies_at_the_bound_are_taken(app, world, login_as):
    body = f"姓名或单位,职务,所在单位,类别,默认份数\r\n赵九,处长,市研究室,送,{MAX_COPIES_PER_LINE}\r\n".encode()
    response = login_as("editor").post("/recipients/import", {"file": (io.BytesIO(body), "r.csv")},
                                       content_type="multipart/form-data")
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Recipient.default_copies).where(Recipient.name == "赵九")) == MAX_COPIES_PER_LINE


@pytest.mark.parametrize("copies", [str(MAX_COPIES_PER_LINE + 1), "999999", "1" + "0" * 20, "²"])
def test_series_list_add_copies_are_bounded(app, world, login_as, copies):
    client = login_as("admin")
    series_id = world["series_id"]
    with app.app_context():
        before = [(e.recipient_id, e.copies) for e in lists.series_entries(db.session, series_id)]
    response = client.post(f"/series/{series_id}/distribution", {
        "rid-0": str(world["recipient_id"]), "cat-0": "报", "copies-0": "2", "medium-0": "printed",
        "add_recipient": str(world["recipient_id"]), "add_category": "送", "add_copies": copies,
        "add_medium": "printed"})
    assert response.status_code == 422
    assert str(MAX_COPIES_PER_LINE) in response.get_data(as_text=True)
    with app.app_context():
        assert [(e.recipient_id, e.copies) for e in lists.series_entries(db.session, series_id)] == before


@pytest.mark.parametrize("field,copies", [("default_copies", "1001"), ("default_copies", "1" + "0" * 20),
                                          ("default_copies", "٣")])
def test_recipient_form_copies_are_bounded(app, world, login_as, field, copies):
    before = _recipient_count(app)
    response = login_as("admin").post("/recipients/new", {"name": "赵九", "category": "送", field: copies,
                                                          "active": "y"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'value="赵九"' in page  # what was typed is kept
    assert _recipient_count(app) == before


def test_distribution_line_copies_are_bounded_at_the_operation_too(app, world):
    """The operation itself refuses, whatever calls it (a form, the API later)."""
    from models import User
    from workflows.limits import LimitExceeded

    with app.app_context():
        brief = db.session.get(Brief, world["brief_id"])
        recipient = db.session.get(Recipient, world["recipient_id"])
        with pytest.raises(LimitExceeded):
            lists.add_entry(db.session, brief, recipient, "送", MAX_COPIES_PER_LINE + 1, "printed")
        db.session.rollback()
        entry = db.session.get(DistributionEntry, world["entry_id"])
        brief = db.session.get(Brief, world["brief_id"])
        with pytest.raises(LimitExceeded):
            lists.update_entry(db.session, brief, entry, copies=10**20, medium="printed")
        db.session.rollback()
        with pytest.raises(LimitExceeded):
            lists.replace_series_list(db.session, world["series_id"], [(recipient.id, "送", 10**6, "printed")])
        db.session.rollback()
        assert db.session.scalar(select(func.count(SeriesDistribution.id))) == 1
        assert db.session.scalar(select(func.count(Revision.id))) >= 1
        assert User  # imported for the fixture's sake


def test_the_bounds_come_from_one_place(app):
    """Forms, the CSV reader and the models read the same numbers."""
    from distribution import csvio
    from forms.brief import BriefForm
    from forms.distribution import AddEntryForm, RecipientForm
    from workflows import limits

    assert Brief.__table__.c.title.type.length == limits.TITLE_LENGTH
    assert Brief.__table__.c.author_line.type.length == limits.AUTHOR_LINE_LENGTH
    assert Recipient.__table__.c.name.type.length == limits.PERSON_NAME_LENGTH
    assert Recipient.__table__.c.organisation.type.length == limits.ORGANISATION_LENGTH
    with app.test_request_context():
        brief_form = BriefForm(meta={"csrf": False})
        lengths = {name: [v.max for v in getattr(brief_form, name).validators if hasattr(v, "max")]
                   for name in ("title", "author_line", "body")}
        assert lengths == {"title": [limits.TITLE_LENGTH], "author_line": [limits.AUTHOR_LINE_LENGTH],
                           "body": [limits.BODY_LENGTH]}
        for form, name in ((RecipientForm(meta={"csrf": False}), "default_copies"),
                           (AddEntryForm(meta={"csrf": False}), "copies")):
            field = getattr(form, name)
            assert (field.low, field.high) == (1, limits.MAX_COPIES_PER_LINE)
    assert csvio.LIMITS["name"] == limits.PERSON_NAME_LENGTH


def test_a_number_out_of_range_in_a_form_is_a_422_that_keeps_it(app, world, login_as):
    response = login_as("archivist").post("/archive/sequences", {"year": "99999999999999999999", "retention": "Y",
                                                                  "first_item": "٣"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'value="99999999999999999999"' in page and 'value="٣"' in page
    response = login_as("editor").post(f"/briefs/{world['signed']}/publish", {
        "issue_date": "99999-01-01", "version": str(fetch(app, world["signed"]).version)})
    assert response.status_code == 422
    assert fetch(app, world["signed"]).state == State.SIGNED.value
