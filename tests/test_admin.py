"""Administration: who may reach it, managing accounts (the admin) and their roles (the security
administrator) and series through the forms, and the `flask user …` command line."""

from __future__ import annotations

import json
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


def user_form(username: str, display_name: str, *, active: bool = True, password: str = "",
              locale: str = "zh_CN") -> dict:
    data = {"username": username, "display_name": display_name, "locale": locale, "password": password}
    if active:
        data["active"] = "y"
    return data


def roles_form(*roles: str) -> dict:
    return {"roles": list(roles)}


# --- who may administer ------------------------------------------------------------------------


def admin_urls(people: dict[str, int], series_id: int) -> list[str]:
    return ["/admin/users", "/admin/users/new", f"/admin/users/{people['drafter']}",
            f"/admin/users/{people['drafter']}/roles", "/admin/series", "/admin/series/new",
            f"/admin/series/{series_id}", f"/admin/series/{series_id}/classification"]


# Which of admin_urls each administrator reaches (the rest: 403).
REACHES = {
    "admin": {"/admin/users", "/admin/users/new", "/admin/users/{drafter}", "/admin/series", "/admin/series/new",
              "/admin/series/{series}"},
    "security_admin": {"/admin/users", "/admin/users/{drafter}/roles", "/admin/series",
                       "/admin/series/{series}/classification"},
}


def reaches(name: str, people: dict[str, int], series_id: int) -> set[str]:
    return {u.replace("{drafter}", str(people["drafter"])).replace("{series}", str(series_id))
            for u in REACHES.get(name, set())}


@pytest.mark.parametrize("name", ["drafter", "editor", "signer", "archivist", "clerk", "auditor",
                                  "drafter_editor", "editor_signer"])
def test_only_admins_reach_administration(app, people, series_id, login_as, name):
    client = login_as(name)
    before_users, before_series = user_count(app), series_row(app, series_id)
    for url in admin_urls(people, series_id):
        response = client.get(url)
        assert response.status_code == 403, url
        assert zh(app, "Your role does not allow this action.") in response.get_data(as_text=True)
    posts = {
        "/admin/users/new": user_form("mallory", "马洛里", password="long enough password"),
        f"/admin/users/{people[name]}": user_form(name, "自封"),
        f"/admin/users/{people[name]}/roles": roles_form("admin"),
        f"/admin/users/{people['drafter']}/roles": roles_form("archivist"),
        "/admin/series/new": {"name": "新刊", "hosts": "某", "default_print_run": "5", "timezone": "UTC",
                              "first_total_number": "1", "supplement_numbering": "shared", "active": "y"},
        f"/admin/series/{series_id}": {"name": "被改了", "hosts": "某", "default_print_run": "5",
                                       "timezone": "UTC", "first_total_number": "1",
                                       "supplement_numbering": "shared", "active": "y",
                                       "version": str(before_series.version)},
        f"/admin/series/{series_id}/classification": {"classified_levels": "", "version": str(before_series.version)},
    }
    for url, data in posts.items():
        assert client.post(url, data).status_code == 403, url
    assert user_count(app) == before_users
    assert account(app, name).role_set == set(PEOPLE[name][1])
    assert account(app, "drafter").role_set == {"drafter"}
    after = series_row(app, series_id)
    assert (after.name, after.version) == (before_series.name, before_series.version)
    # The menu does not offer what the role may not use.
    page = client.get("/account").get_data(as_text=True)
    assert 'href="/admin/users"' not in page and 'href="/admin/series"' not in page


def test_anonymous_is_sent_to_login(app, people, series_id):
    http = app.test_client()
    for url in admin_urls(people, series_id):
        assert is_login_redirect(http.get(url)), url
    token = csrf_from(http.get("/login").get_data(as_text=True))
    response = http.post("/admin/users/new", data={
        **user_form("mallory", "马洛里", password="long enough password"), "csrf_token": token})
    assert is_login_redirect(response)
    assert account(app, "mallory") is None


@pytest.mark.parametrize("name", ["admin", "security_admin"])
def test_each_administrator_sees_their_own_pages(app, people, series_id, login_as, name):
    client = login_as(name)
    allowed = reaches(name, people, series_id)
    for url in admin_urls(people, series_id):
        assert client.get(url).status_code == (200 if url in allowed else 403), url
    users_page = client.get("/admin/users").get_data(as_text=True)
    assert "王志远" in users_page and "何平" in users_page
    # The list links what this administrator may do to each account, and nothing else.
    edit_link = f'href="/admin/users/{people["drafter"]}"'
    roles_link = f'href="/admin/users/{people["drafter"]}/roles"'
    assert (edit_link in users_page) == (name == "admin")
    assert (roles_link in users_page) == (name == "security_admin")
    assert ('href="/admin/users/new"' in users_page) == (name == "admin")


# --- accounts ----------------------------------------------------------------------------------


def test_admin_creates_the_account_and_the_security_admin_grants_its_roles(app, people, login_as):
    admin = login_as("admin")
    # Roles posted with the admin's form are not the admin's to give: they are ignored.
    response = admin.post("/admin/users/new", {**user_form("lichang", "李长青", password="first password 1"),
                                               "roles": ["editor", "signer"]})
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/admin/users"
    created = account(app, "lichang")
    assert created is not None and created.active
    assert created.display_name == "李长青"
    assert created.role_set == set()
    assert created.password_hash != "first password 1"
    listing = admin.get("/admin/users").get_data(as_text=True)
    assert "lichang" in listing and "李长青" in listing
    assert can_log_in(app, "lichang", "first password 1")
    # Nor may the admin open the roles form.
    assert admin.get(f"/admin/users/{created.id}/roles").status_code == 403
    assert admin.post(f"/admin/users/{created.id}/roles", roles_form("editor")).status_code == 403
    assert account(app, "lichang").role_set == set()

    # The security administrator grants them; an open session keeps going and sees them at once.
    session = app.test_client()
    assert log_in_form(session, "lichang", "first password 1").status_code == 302
    security = login_as("security_admin")
    page = security.get(f"/admin/users/{created.id}/roles").get_data(as_text=True)
    assert 'name="roles"' in page and 'value="security_admin"' in page
    response = security.post(f"/admin/users/{created.id}/roles", roles_form("editor", "signer"))
    assert response.status_code == 302
    assert account(app, "lichang").role_set == {"editor", "signer"}
    response = security.post(f"/admin/users/{created.id}/roles", roles_form("drafter"))
    assert response.status_code == 302
    assert account(app, "lichang").role_set == {"drafter"}
    assert account(app, "lichang").password_hash == created.password_hash
    assert session.get("/").status_code == 200  # a role change keeps the session
    assert session.get("/briefs/new").status_code == 200  # and takes effect at once
    # The security administrator changes no account detail.
    assert security.post(f"/admin/users/{created.id}", user_form("lichang", "改名")).status_code == 403
    assert account(app, "lichang").display_name == "李长青"

    # Deactivated by the admin: the open session ends and the next login is refused.
    response = admin.post(f"/admin/users/{created.id}", user_form("lichang", "李长青", active=False))
    assert response.status_code == 302
    assert account(app, "lichang").active is False
    assert is_login_redirect(session.get("/"))
    assert not can_log_in(app, "lichang", "first password 1")
    assert "lichang" in admin.get("/admin/users").get_data(as_text=True)  # still listed

    # Reactivated with a new password: the old one no longer works.
    response = admin.post(f"/admin/users/{created.id}", user_form("lichang", "李长青", password="second password 2"))
    assert response.status_code == 302
    assert account(app, "lichang").active is True
    assert account(app, "lichang").role_set == {"drafter"}
    assert not can_log_in(app, "lichang", "first password 1")
    assert can_log_in(app, "lichang", "second password 2")


def test_password_reset_ends_the_users_sessions(app, people, login_as):
    admin = login_as("admin")
    editor = login_as("editor")
    response = admin.post(f"/admin/users/{people['editor']}", user_form("editor", "李青", password="reset by admin 1"))
    assert response.status_code == 302
    assert is_login_redirect(editor.get("/"))
    assert can_log_in(app, "editor", "reset by admin 1")


def test_admin_cannot_deactivate_themselves(app, people, login_as):
    admin = login_as("admin")
    response = admin.post(f"/admin/users/{people['admin']}", user_form("admin", "赵敏", active=False))
    assert response.status_code == 403
    assert zh(app, "You cannot deactivate yourself.") in response.get_data(as_text=True)
    me = account(app, "admin")
    assert me.active and me.role_set == {"admin"}
    assert admin.get("/admin/users").status_code == 200  # still logged in, still admin
    # Their own details are theirs to change.
    assert admin.post(f"/admin/users/{people['admin']}", user_form("admin", "赵敏敏")).status_code == 302
    assert account(app, "admin").display_name == "赵敏敏"


def test_nobody_grants_roles_to_themselves(app, people, login_as):
    security = login_as("security_admin")
    message = zh(app, "Nobody grants roles to themselves: another security administrator, or the command line, "
                      "changes your roles.")
    response = security.get(f"/admin/users/{people['security_admin']}/roles")
    assert response.status_code == 403 and message in response.get_data(as_text=True)
    response = security.post(f"/admin/users/{people['security_admin']}/roles", roles_form("security_admin", "archivist"))
    assert response.status_code == 403
    assert account(app, "security_admin").role_set == {"security_admin"}
    assert f'href="/admin/users/{people["security_admin"]}/roles"' not in security.get("/admin/users").get_data(
        as_text=True)


@pytest.mark.parametrize("overseer", ["security_admin", "auditor"])
def test_the_admin_cannot_touch_the_accounts_that_watch_them(app, people, login_as, overseer):
    """The admin could otherwise reset the auditor's password and read their own log, or the
    security administrator's and grant roles: these accounts are the command line's."""
    admin = login_as("admin")
    before = account(app, overseer)
    message = zh(app, "The accounts of the security administrator and the auditor are not the system "
                      "administrator's to change; use the command line (flask user …).")
    response = admin.get(f"/admin/users/{people[overseer]}")
    assert response.status_code == 403 and message in response.get_data(as_text=True)
    for form in (user_form(overseer, "改名"), user_form(overseer, PEOPLE[overseer][0], password="taken over 123"),
                 user_form(overseer, PEOPLE[overseer][0], active=False)):
        assert admin.post(f"/admin/users/{people[overseer]}", form).status_code == 403
    after = account(app, overseer)
    assert (after.display_name, after.password_hash, after.active) == (before.display_name, before.password_hash, True)
    assert can_log_in(app, overseer, PASSWORD)
    assert f'href="/admin/users/{people[overseer]}"' not in admin.get("/admin/users").get_data(as_text=True)
    # The command line can.
    result = app.test_cli_runner().invoke(args=["user", "password", overseer, "--password", "new one 12345"])
    assert result.exit_code == 0, result.output
    assert can_log_in(app, overseer, "new one 12345")


def test_duplicate_username_is_refused(app, people, login_as):
    admin = login_as("admin")
    before = user_count(app)
    response = admin.post("/admin/users/new", user_form("editor", "冒名", password="long enough password"))
    assert response.status_code == 200
    assert zh(app, "This username is taken.") in response.get_data(as_text=True)
    assert user_count(app) == before
    editor = account(app, "editor")
    assert editor.display_name == "李青" and editor.role_set == {"editor"}
    # Renaming another account onto a taken name is refused too.
    response = admin.post(f"/admin/users/{people['drafter2']}", user_form("drafter", "孙丽"))
    assert response.status_code == 200
    assert zh(app, "This username is taken.") in response.get_data(as_text=True)
    assert account(app, "drafter2") is not None


def test_new_account_needs_a_valid_password_and_name(app, people, login_as):
    admin = login_as("admin")
    before = user_count(app)
    response = admin.post("/admin/users/new", user_form("nopass", "无密码"))
    assert response.status_code == 200
    assert zh(app, "A new account needs a password.") in response.get_data(as_text=True)
    assert admin.post("/admin/users/new", user_form("short", "短密码", password="short")).status_code == 200
    assert admin.post("/admin/users/new", user_form("bad name", "空格", password="long enough password")).status_code == 200
    assert user_count(app) == before
    security = login_as("security_admin")
    assert security.post(f"/admin/users/{people['drafter']}/roles", roles_form("pope")).status_code == 422
    assert account(app, "drafter").role_set == {"drafter"}


def test_unknown_user_is_404(app, people, login_as):
    admin = login_as("admin")
    assert admin.get("/admin/users/999999").status_code == 404
    assert admin.post("/admin/users/999999", user_form("ghost", "鬼")).status_code == 404
    assert login_as("security_admin").post("/admin/users/999999/roles", roles_form("drafter")).status_code == 404
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


def test_the_admin_gives_an_account_its_e_mail_address_for_notifications(app, people, login_as):
    from models import AuditEvent

    admin = login_as("admin")
    form = {**user_form("zhouyu", "周瑜", password="long enough password"), "email": "zhouyu@tk.example.cn"}
    assert admin.post("/admin/users/new", form).status_code == 302
    assert account(app, "zhouyu").email == "zhouyu@tk.example.cn"
    user_id = account(app, "zhouyu").id
    page = admin.get(f"/admin/users/{user_id}").get_data(as_text=True)
    assert 'value="zhouyu@tk.example.cn"' in page and 'type="email"' in page

    refused = admin.post(f"/admin/users/{user_id}", {**user_form("zhouyu", "周瑜"), "email": "zhouyu at tk"})
    assert refused.status_code == 200 and "这不是电子邮件地址" in refused.get_data(as_text=True)
    assert account(app, "zhouyu").email == "zhouyu@tk.example.cn"  # nothing changed

    assert admin.post(f"/admin/users/{user_id}", {**user_form("zhouyu", "周瑜"), "email": "zy@tk.example.cn"}
                      ).status_code == 302
    assert account(app, "zhouyu").email == "zy@tk.example.cn"
    with app.app_context():
        changed = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "user_changed")).all()
        assert [json.loads(e.reason)["changes"]["email"] for e in changed] == [["zhouyu@tk.example.cn", "zy@tk.example.cn"]]
