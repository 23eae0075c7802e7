"""Administration: who may reach it, managing accounts and series through the forms, and the
`flask user …` command line."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from flask_babel import force_locale, gettext
from markupsafe import escape
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from extensions import db
from models import Series, User
from tests.conftest import PASSWORD, PEOPLE, csrf_from, log_in_form


def zh(app, message: str, **params) -> str:
    with app.test_request_context(), force_locale("zh_CN"):
        return str(escape(gettext(message, **params)))


def account(app, username: str) -> User | None:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        if user is not None:
            user.role_set  # load the roles before detaching  # noqa: B018
            db.session.expunge(user)
        return user


def series_row(app, series_id: int) -> Series:
    with app.app_context():
        record = db.session.get(Series, series_id)
        db.session.expunge(record)
        return record


def user_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(User.id)))


def can_log_in(app, username: str, password: str) -> bool:
    response = log_in_form(app.test_client(), username, password)
    assert response.status_code in (302, 401), response.status_code
    return response.status_code == 302


def is_login_redirect(response) -> bool:
    return response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/login"


def version_on(page: str) -> str:
    match = re.search(r'<input[^>]*name="version"[^>]*value="(\d+)"', page)
    assert match, "no version field on the page"
    return match.group(1)


def field_has_error(page: str, name: str) -> bool:
    """The form shows an error under the field `name` (the has-error box of _macros.field)."""
    return re.search(rf'<div class="field [^"]*has-error">\s*<label for="{name}"', page) is not None


def user_form(username: str, display_name: str, roles: list[str], *, active: bool = True,
              password: str = "", locale: str = "zh_CN") -> dict:
    data = {"username": username, "display_name": display_name, "roles": roles, "locale": locale,
            "password": password}
    if active:
        data["active"] = "y"
    return data


# --- who may administer ------------------------------------------------------------------------


def admin_urls(people: dict[str, int], series_id: int) -> list[str]:
    return ["/admin/users", "/admin/users/new", f"/admin/users/{people['drafter']}", "/admin/series",
            "/admin/series/new", f"/admin/series/{series_id}"]


@pytest.mark.parametrize("name", ["drafter", "editor", "signer", "archivist", "drafter_editor",
                                  "editor_signer"])
def test_only_admins_reach_administration(app, people, series_id, login_as, name):
    client = login_as(name)
    before_users, before_series = user_count(app), series_row(app, series_id)
    for url in admin_urls(people, series_id):
        response = client.get(url)
        assert response.status_code == 403, url
        assert zh(app, "Your role does not allow this action.") in response.get_data(as_text=True)
    posts = {
        "/admin/users/new": user_form("mallory", "马洛里", ["admin"], password="long enough password"),
        f"/admin/users/{people[name]}": user_form(name, "自封", ["admin"]),
        "/admin/series/new": {"name": "新刊", "hosts": "某", "default_print_run": "5", "timezone": "UTC",
                              "first_total_number": "1", "supplement_numbering": "shared", "active": "y"},
        f"/admin/series/{series_id}": {"name": "被改了", "hosts": "某", "default_print_run": "5",
                                       "timezone": "UTC", "first_total_number": "1",
                                       "supplement_numbering": "shared", "active": "y",
                                       "version": str(before_series.version)},
    }
    for url, data in posts.items():
        assert client.post(url, data).status_code == 403, url
    assert user_count(app) == before_users
    assert account(app, name).role_set == set(PEOPLE[name][1])
    after = series_row(app, series_id)
    assert (after.name, after.version) == (before_series.name, before_series.version)
    # The menu does not offer what the role may not use.
    page = client.get("/").get_data(as_text=True)
    assert 'href="/admin/users"' not in page and 'href="/admin/series"' not in page


def test_anonymous_is_sent_to_login(app, people, series_id):
    http = app.test_client()
    for url in admin_urls(people, series_id):
        assert is_login_redirect(http.get(url)), url
    token = csrf_from(http.get("/login").get_data(as_text=True))
    response = http.post("/admin/users/new", data={
        **user_form("mallory", "马洛里", ["admin"], password="long enough password"), "csrf_token": token})
    assert is_login_redirect(response)
    assert account(app, "mallory") is None


def test_admin_sees_the_pages(app, people, series_id, login_as):
    client = login_as("admin")
    for url in admin_urls(people, series_id):
        assert client.get(url).status_code == 200, url
    users_page = client.get("/admin/users").get_data(as_text=True)
    assert "王志远" in users_page and "何平" in users_page


# --- accounts ----------------------------------------------------------------------------------


def test_admin_creates_edits_deactivates_and_resets_a_user(app, people, login_as):
    admin = login_as("admin")
    response = admin.post("/admin/users/new", user_form("lichang", "李长青", ["editor", "signer"],
                                                        password="first password 1"))
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/admin/users"
    created = account(app, "lichang")
    assert created is not None and created.active
    assert created.display_name == "李长青"
    assert created.role_set == {"editor", "signer"}
    assert created.password_hash != "first password 1"
    listing = admin.get("/admin/users").get_data(as_text=True)
    assert "lichang" in listing and "李长青" in listing
    assert can_log_in(app, "lichang", "first password 1")

    # Roles edited; the password left empty stays as it was.
    session = app.test_client()
    assert log_in_form(session, "lichang", "first password 1").status_code == 302
    response = admin.post(f"/admin/users/{created.id}", user_form("lichang", "李长青", ["drafter"]))
    assert response.status_code == 302
    assert account(app, "lichang").role_set == {"drafter"}
    assert account(app, "lichang").password_hash == created.password_hash
    assert session.get("/").status_code == 200  # a role change keeps the session
    assert session.get("/briefs/new").status_code == 200  # and takes effect at once

    # Deactivated: the open session ends and the next login is refused.
    response = admin.post(f"/admin/users/{created.id}", user_form("lichang", "李长青", ["drafter"], active=False))
    assert response.status_code == 302
    assert account(app, "lichang").active is False
    assert is_login_redirect(session.get("/"))
    assert not can_log_in(app, "lichang", "first password 1")
    assert "lichang" in admin.get("/admin/users").get_data(as_text=True)  # still listed

    # Reactivated with a new password: the old one no longer works.
    response = admin.post(f"/admin/users/{created.id}",
                          user_form("lichang", "李长青", ["drafter"], password="second password 2"))
    assert response.status_code == 302
    assert account(app, "lichang").active is True
    assert not can_log_in(app, "lichang", "first password 1")
    assert can_log_in(app, "lichang", "second password 2")


def test_password_reset_ends_the_users_sessions(app, people, login_as):
    admin = login_as("admin")
    editor = login_as("editor")
    response = admin.post(f"/admin/users/{people['editor']}",
                          user_form("editor", "李青", ["editor"], password="reset by admin 1"))
    assert response.status_code == 302
    assert is_login_redirect(editor.get("/"))
    assert can_log_in(app, "editor", "reset by admin 1")


def test_admin_cannot_remove_own_admin_role(app, people, login_as):
    admin = login_as("admin")
    message = zh(app, "You cannot remove your own administrator role or deactivate yourself.")
    response = admin.post(f"/admin/users/{people['admin']}", user_form("admin", "赵敏", ["editor"]))
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert account(app, "admin").role_set == {"admin"}
    response = admin.post(f"/admin/users/{people['admin']}", user_form("admin", "赵敏", ["admin"], active=False))
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    me = account(app, "admin")
    assert me.active and me.role_set == {"admin"}
    assert admin.get("/admin/users").status_code == 200  # still logged in, still admin
    # Adding a role to oneself is fine.
    response = admin.post(f"/admin/users/{people['admin']}", user_form("admin", "赵敏", ["admin", "archivist"]))
    assert response.status_code == 302
    assert account(app, "admin").role_set == {"admin", "archivist"}


def test_duplicate_username_is_refused(app, people, login_as):
    admin = login_as("admin")
    before = user_count(app)
    response = admin.post("/admin/users/new", user_form("editor", "冒名", ["admin"], password="long enough password"))
    assert response.status_code == 200
    assert zh(app, "This username is taken.") in response.get_data(as_text=True)
    assert user_count(app) == before
    editor = account(app, "editor")
    assert editor.display_name == "李青" and editor.role_set == {"editor"}
    # Renaming another account onto a taken name is refused too.
    response = admin.post(f"/admin/users/{people['drafter2']}", user_form("drafter", "孙丽", ["drafter"]))
    assert response.status_code == 200
    assert zh(app, "This username is taken.") in response.get_data(as_text=True)
    assert account(app, "drafter2") is not None


def test_new_account_needs_a_valid_password_and_name(app, people, login_as):
    admin = login_as("admin")
    before = user_count(app)
    response = admin.post("/admin/users/new", user_form("nopass", "无密码", ["drafter"]))
    assert response.status_code == 200
    assert zh(app, "A new account needs a password.") in response.get_data(as_text=True)
    assert admin.post("/admin/users/new", user_form("short", "短密码", ["drafter"], password="short")).status_code == 200
    assert admin.post("/admin/users/new", user_form("bad name", "空格", ["drafter"],
                                                    password="long enough password")).status_code == 200
    assert admin.post("/admin/users/new", user_form("x", "未知角色", ["pope"],
                                                    password="long enough password")).status_code == 200
    assert user_count(app) == before


def test_unknown_user_is_404(app, people, login_as):
    admin = login_as("admin")
    assert admin.get("/admin/users/999999").status_code == 404
    assert admin.post("/admin/users/999999", user_form("ghost", "鬼", ["drafter"])).status_code == 404
    assert account(app, "ghost") is None


# --- series settings ---------------------------------------------------------------------------


def series_form(version: str, **changes) -> dict:
    data = {"name": "领导参阅", "hosts": "苏州太湖书院\n苏州太湖智库", "contact_phone": "0512-66881234",
            "address": "苏州市吴中区示例路 100 号", "default_print_run": "30", "timezone": "Asia/Shanghai",
            "first_total_number": "31", "supplement_numbering": "shared", "active": "y", "version": version}
    data.update(changes)
    return data


def test_admin_edits_series_settings(app, people, series_id, login_as):
    admin = login_as("admin")
    page = admin.get(f"/admin/series/{series_id}").get_data(as_text=True)
    version = version_on(page)
    assert version == str(series_row(app, series_id).version)
    response = admin.post(f"/admin/series/{series_id}", series_form(
        version, name="决策参考", hosts="苏州太湖书院\n苏州太湖智库\n某研究院", default_print_run="45",
        first_total_number="120", supplement_numbering="separate"))
    assert response.status_code == 302
    saved = series_row(app, series_id)
    assert saved.name == "决策参考"
    assert saved.host_list == ["苏州太湖书院", "苏州太湖智库", "某研究院"]
    assert saved.default_print_run == 45 and saved.first_total_number == 120
    assert saved.supplement_numbering == "separate"
    assert saved.version == int(version) + 1
    assert "决策参考" in admin.get("/admin/series").get_data(as_text=True)


def test_admin_creates_a_series(app, people, login_as):
    admin = login_as("admin")
    data = series_form("", name="专题报告", first_total_number="1")
    del data["version"]
    assert admin.post("/admin/series/new", data).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Series).where(Series.name == "专题报告")) is not None
    # The same name again is refused.
    response = admin.post("/admin/series/new", data)
    assert response.status_code == 422
    assert zh(app, "A series with this name exists.") in response.get_data(as_text=True)


def test_stale_series_settings_are_refused(app, people, series_id, login_as):
    with app.app_context():
        second = User(username="admin2", display_name="第二管理员",
                      password_hash=generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000"))
        second.set_roles({"admin"})
        db.session.add(second)
        db.session.commit()
    first_admin, second_admin = login_as("admin"), login_as("admin2")
    first_version = version_on(first_admin.get(f"/admin/series/{series_id}").get_data(as_text=True))
    second_version = version_on(second_admin.get(f"/admin/series/{series_id}").get_data(as_text=True))
    assert first_admin.post(f"/admin/series/{series_id}",
                            series_form(first_version, default_print_run="50")).status_code == 302
    response = second_admin.post(f"/admin/series/{series_id}",
                                 series_form(second_version, name="第二人改的", default_print_run="99"))
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert zh(app, "Someone else changed these settings after you opened them. Nothing was saved.") in page
    assert "第二人改的" in page  # what they typed is still on the form
    saved = series_row(app, series_id)
    assert saved.name == "领导参阅" and saved.default_print_run == 50
    assert saved.version == int(first_version) + 1


def test_bad_time_zone_is_refused(app, people, series_id, login_as):
    admin = login_as("admin")
    version = version_on(admin.get(f"/admin/series/{series_id}").get_data(as_text=True))
    before = series_row(app, series_id)
    for zone in ("Mars/Olympus_Mons", "../../etc/passwd"):
        response = admin.post(f"/admin/series/{series_id}", series_form(version, timezone=zone, name="改了"))
        assert response.status_code == 422, zone
        assert field_has_error(response.get_data(as_text=True), "timezone"), zone
    after = series_row(app, series_id)
    assert (after.name, after.timezone, after.version) == (before.name, before.timezone, before.version)


def test_invalid_series_numbers_are_refused(app, people, series_id, login_as):
    admin = login_as("admin")
    version = version_on(admin.get(f"/admin/series/{series_id}").get_data(as_text=True))
    for bad in ({"default_print_run": "0"}, {"first_total_number": "-3"}, {"supplement_numbering": "odd"},
                {"name": ""}):
        response = admin.post(f"/admin/series/{series_id}", series_form(version, **bad))
        assert response.status_code in (200, 422), bad
    after = series_row(app, series_id)
    assert after.version == int(version) and after.default_print_run == 30


# --- the command line --------------------------------------------------------------------------


def test_cli_create_with_roles_prints_a_password(app, people):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["user", "create", "lichang", "--name", "李长青", "--role", "editor",
                                 "--role", "signer"])
    assert result.exit_code == 0, result.output
    match = re.search(r"password: (\S+)", result.output)
    assert match, result.output
    created = account(app, "lichang")
    assert created is not None and created.display_name == "李长青"
    assert created.role_set == {"editor", "signer"}
    assert can_log_in(app, "lichang", match.group(1))
    # Creating it twice fails.
    again = runner.invoke(args=["user", "create", "lichang", "--name", "李长青"])
    assert again.exit_code != 0
    assert user_count(app) == len(people) + 1


def test_cli_create_with_a_given_password(app, people):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["user", "create", "given", "--name", "甲", "--role", "drafter",
                                 "--password", "given password 1"])
    assert result.exit_code == 0, result.output
    assert "given password 1" not in result.output
    assert can_log_in(app, "given", "given password 1")
    assert runner.invoke(args=["user", "create", "x", "--name", "乙", "--role", "pope"]).exit_code != 0
    assert account(app, "x") is None


def test_cli_list_roles_password_deactivate(app, people):
    runner = app.test_cli_runner()
    listing = runner.invoke(args=["user", "list"])
    assert listing.exit_code == 0, listing.output
    lines = {line.split("\t")[0]: line.split("\t") for line in listing.output.splitlines() if line}
    assert set(lines) == set(people)
    assert lines["editor_signer"][1:] == ["冯远", "editor,signer", "active"]

    result = runner.invoke(args=["user", "roles", "editor", "drafter"])
    assert result.exit_code == 0, result.output
    assert account(app, "editor").role_set == {"drafter"}

    session = app.test_client()
    assert log_in_form(session, "editor", PASSWORD).status_code == 302
    result = runner.invoke(args=["user", "password", "editor"])
    assert result.exit_code == 0, result.output
    new_password = result.output.strip().rsplit(": ", 1)[-1]
    assert is_login_redirect(session.get("/"))  # the reset ended the open session
    assert not can_log_in(app, "editor", PASSWORD)
    assert can_log_in(app, "editor", new_password)

    result = runner.invoke(args=["user", "deactivate", "editor"])
    assert result.exit_code == 0, result.output
    assert account(app, "editor").active is False
    assert not can_log_in(app, "editor", new_password)
    listing = runner.invoke(args=["user", "list"]).output
    assert [line for line in listing.splitlines() if line.startswith("editor\t")][0].endswith("deactivated")


@pytest.mark.parametrize("args", [
    ["user", "roles", "nobody", "editor"],
    ["user", "password", "nobody"],
    ["user", "deactivate", "nobody"],
    ["user", "roles", "editor", "pope"],
])
def test_cli_errors_exit_non_zero(app, people, args):
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code != 0, result.output
    editor = account(app, "editor")
    assert editor.active and editor.role_set == {"editor"}
