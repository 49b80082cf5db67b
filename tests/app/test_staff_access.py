"""Staff login: the second factor, throttling without user enumeration, session rotation,
time-outs, disabling and resetting users, all audited."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest

from survey_app.auth import models as auth_models
from survey_app.auth.models import LoginThrottle, StaffSession, User
from survey_app.auth.services import add_user
from survey_app.core.audit import AuditEvent
from survey_app.core.db import db, utcnow
from survey_app.core.tokens import unseal
from survey_app.partners.services import add_organisation, ensure_star

from .helpers import csrf_token, staff_login

PASSWORD = "a-long-staff-password-1"


@pytest.fixture
def staff(ctx):
    ensure_star()
    add_organisation("jobportalen", "Jobportalen")
    users = {
        "admin": add_user("admin@star.example", "admin", None, PASSWORD)[0],
        "analyst": add_user("analyst@star.example", "analyst", None, PASSWORD)[0],
        "operator": add_user("op@jobportalen.example", "partner_operator", "jobportalen", PASSWORD)[
            0
        ],
        "agent": add_user("agent@callcentre.example", "agent", None, PASSWORD)[0],
    }
    db.session.commit()
    return users


def user(email: str) -> User:
    db.session.expire_all()
    return db.session.scalars(db.select(User).filter_by(email=email)).one()


def actions(**filters) -> list[str]:
    db.session.expire_all()
    query = db.select(AuditEvent).filter_by(**filters).order_by(AuditEvent.id)
    return [e.action for e in db.session.scalars(query)]


def post_password(client, email, password=PASSWORD, **kwargs):
    html = client.get("/login", **kwargs).get_data(as_text=True)
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf_token(html)},
        **kwargs,
    )


def post_code(client, url, code):
    html = client.get(url).get_data(as_text=True)
    return client.post(url, data={"code": code, "csrf_token": csrf_token(html)})


def normalised(response, email: str) -> str:
    """The page without what differs on every request (CSRF token, CSP nonce) and without the
    e-mail address typed, which the form shows back."""
    html = response.get_data(as_text=True).replace(f'value="{email}"', 'value="EMAIL"')
    html = re.sub(r'name="csrf_token"[^>]*value="[^"]+"', "CSRF", html)
    return re.sub(r'nonce="[^"]+"', "NONCE", html)


def test_administrator_enrols_on_first_login_then_needs_a_fresh_code(app, staff):
    client = app.test_client()
    r = post_password(client, "admin@star.example")
    assert r.status_code == 302 and r.location.endswith("/login/enrol")
    assert client.get("/staff").status_code == 302  # not logged in before the second factor
    html = client.get("/login/enrol").get_data(as_text=True)
    secret = re.search(r'data-secret="([A-Z2-7]+)"', html).group(1)
    assert 'src="data:image/svg+xml' in html  # the QR code
    assert client.get("/login/enrol").get_data(as_text=True).count(secret) >= 1  # stable
    assert unseal(user("admin@star.example").totp_secret) == secret  # stored sealed
    assert user("admin@star.example").totp_secret != secret
    assert post_code(client, "/login/enrol", "000000").status_code == 400
    r = post_code(client, "/login/enrol", pyotp.TOTP(secret).now())
    assert r.status_code == 200
    codes = re.findall(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>", r.get_data(as_text=True))
    assert len(set(codes)) == 10
    assert client.get("/staff").status_code == 200
    admin = user("admin@star.example")
    assert actions(object_type="user", object_id=str(admin.id)) == [
        "user.added", "login.failed", "totp.enrolled", "user.login",
    ]  # fmt: skip

    # The next login asks for a code; a code is accepted once only.
    again = app.test_client()
    r = post_password(again, "admin@star.example")
    assert r.location.endswith("/login/code")
    admin.totp_last_step = None
    db.session.commit()
    code = pyotp.TOTP(secret).now()
    assert post_code(again, "/login/code", code).status_code == 302
    replay = app.test_client()
    post_password(replay, "admin@star.example")
    r = post_code(replay, "/login/code", code)
    assert r.status_code == 401 and replay.get("/staff").status_code == 302

    # A recovery code works once.
    assert post_code(replay, "/login/code", codes[0]).status_code == 302
    assert replay.get("/staff").status_code == 200
    third = app.test_client()
    post_password(third, "admin@star.example")
    assert post_code(third, "/login/code", codes[0]).status_code == 401
    assert post_code(third, "/login/code", codes[1].upper()).status_code == 302
    assert "totp.recovery_code_used" in actions(object_type="user", object_id=str(admin.id))


def test_roles_without_a_required_second_factor_log_in_with_the_password(app, staff):
    client = app.test_client()
    r = post_password(client, "agent@callcentre.example")
    assert r.status_code == 302 and r.location.endswith("/staff")
    assert client.get("/staff").status_code == 200
    r = post_password(app.test_client(), "op@jobportalen.example")
    assert r.location.endswith("/login/enrol")  # partner operators must enrol


def test_unknown_user_and_wrong_password_get_identical_answers(app, staff, monkeypatch):
    dummy_calls = []
    real = auth_models.verify_dummy_password
    monkeypatch.setattr(
        "survey_app.auth.views.verify_dummy_password",
        lambda pw: dummy_calls.append(pw) or real(pw),
    )
    wrong = post_password(app.test_client(), "admin@star.example", "wrong-password-1")
    unknown = post_password(app.test_client(), "nobody@star.example", "wrong-password-1")
    assert wrong.status_code == unknown.status_code == 401
    assert normalised(wrong, "admin@star.example") == normalised(unknown, "nobody@star.example")
    # the unknown address costs an argon2 verification too (about the same time)
    assert dummy_calls == ["wrong-password-1"]
    # what was typed for an unknown account (often a password) stays out of the audit log
    failed = db.session.scalars(db.select(AuditEvent).filter_by(action="login.failed")).all()
    assert [e.details.get("email") for e in failed] == ["admin@star.example", None]
    assert "nobody" not in str([e.details for e in failed])
    # a disabled account answers the same, even with the right password
    staff["analyst"].active = False
    db.session.commit()
    disabled = post_password(app.test_client(), "analyst@star.example")
    assert disabled.status_code == 401
    assert normalised(disabled, "analyst@star.example") == normalised(wrong, "admin@star.example")
    # ... and so do the lockouts
    for _ in range(5):
        locked_known = post_password(app.test_client(), "admin@star.example", "wrong-password-1")
        locked_unknown = post_password(app.test_client(), "nobody@star.example", "x-wrong-pw")
    assert locked_known.status_code == locked_unknown.status_code == 429
    assert normalised(locked_known, "admin@star.example") == normalised(
        locked_unknown, "nobody@star.example"
    )


def test_account_lockout_doubles_and_holds_against_the_right_password(app, staff):
    for attempt in range(5):
        r = post_password(app.test_client(), "agent@callcentre.example", "wrong-password-1")
        assert r.status_code == (429 if attempt == 4 else 401)
    r = post_password(app.test_client(), "agent@callcentre.example")  # right password, locked
    assert r.status_code == 429 and "1 min" in r.get_data(as_text=True)
    row = db.session.scalars(db.select(LoginThrottle).where(LoginThrottle.key.like("a:%"))).one()
    first = row.locked_until - utcnow()
    assert timedelta(seconds=50) < first <= timedelta(minutes=1)
    row.locked_until = utcnow() - timedelta(seconds=1)  # the lock has run out
    db.session.commit()
    for _ in range(5):
        post_password(app.test_client(), "agent@callcentre.example", "wrong-password-1")
    db.session.expire_all()
    second = db.session.get(LoginThrottle, row.key).locked_until - utcnow()
    assert timedelta(minutes=1, seconds=50) < second <= timedelta(minutes=2)
    agent = user("agent@callcentre.example")
    assert actions(action="login.locked_out", object_id=str(agent.id)) == ["login.locked_out"] * 2
    # once the lock is over, the right password works and clears the account's counter
    db.session.get(LoginThrottle, row.key).locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert post_password(app.test_client(), "agent@callcentre.example").status_code == 302
    db.session.expire_all()
    assert db.session.get(LoginThrottle, row.key).lockouts == 0


def test_address_lockout_spans_accounts_and_spares_other_addresses(app, staff):
    app.config["STAFF_LOGIN_MAX_FAILURES_PER_IP"] = 4
    try:
        attacker = {"environ_base": {"REMOTE_ADDR": "198.51.100.7"}}
        for i in range(4):
            r = post_password(
                app.test_client(), f"guess{i}@star.example", "pw-guess-123", **attacker
            )
        assert r.status_code == 429
        r = post_password(app.test_client(), "agent@callcentre.example", **attacker)
        assert r.status_code == 429  # the address is locked, whatever the account
        other = {"environ_base": {"REMOTE_ADDR": "203.0.113.9"}}
        assert (
            post_password(app.test_client(), "agent@callcentre.example", **other).status_code == 302
        )
    finally:
        app.config.pop("STAFF_LOGIN_MAX_FAILURES_PER_IP")


def test_wrong_second_factor_codes_count_towards_the_lockout(app, staff):
    client = app.test_client()
    staff_login(client, "admin@star.example", PASSWORD)  # enrols
    attacker = app.test_client()
    post_password(attacker, "admin@star.example")
    statuses = [post_code(attacker, "/login/code", "123456").status_code for _ in range(5)]
    assert statuses == [401, 401, 401, 401, 429]
    admin = user("admin@star.example")
    assert (
        post_code(attacker, "/login/code", pyotp.TOTP(unseal(admin.totp_secret)).now()).status_code
        == 429
    )


def test_a_cookie_from_before_the_login_or_the_logout_is_worthless(app, staff):
    client = app.test_client()
    client.get("/login")
    before = client.get_cookie("session").value
    staff_login(client, "agent@callcentre.example", PASSWORD)
    after = client.get_cookie("session").value
    assert after != before
    assert client.get("/staff").status_code == 200
    replay = app.test_client()
    replay.set_cookie("session", before)
    assert replay.get("/staff").status_code == 302
    # A copy of the logged-in cookie dies with the logout on the server.
    copy = app.test_client()
    copy.set_cookie("session", after)
    assert copy.get("/staff").status_code == 200
    html = client.get("/staff").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(html)})
    assert copy.get("/staff").status_code == 302
    row = db.session.scalars(db.select(StaffSession)).one()
    assert row.end_reason == "logout" and row.ended_at is not None


def test_each_login_gets_its_own_server_side_session(app, staff):
    one, two = app.test_client(), app.test_client()
    staff_login(one, "agent@callcentre.example", PASSWORD)
    staff_login(two, "agent@callcentre.example", PASSWORD)
    assert one.get_cookie("session").value != two.get_cookie("session").value
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count()).select_from(StaffSession)) == 2


def _age_session(**delta) -> None:
    db.session.expire_all()
    row = db.session.scalars(db.select(StaffSession)).one()
    for column, value in delta.items():
        setattr(row, column, getattr(row, column) - value)
    db.session.commit()


def test_idle_time_out_is_configurable(app, staff):
    app.config["STAFF_IDLE_MINUTES"] = 5
    try:
        client = app.test_client()
        staff_login(client, "agent@callcentre.example", PASSWORD)
        _age_session(last_seen_at=timedelta(minutes=4), created_at=timedelta(minutes=4))
        assert client.get("/staff").status_code == 200  # and the visit counts as activity
        _age_session(last_seen_at=timedelta(minutes=4))
        assert client.get("/staff").status_code == 200
        _age_session(last_seen_at=timedelta(minutes=6))
        r = client.get("/staff")
        assert r.status_code == 302 and "/login" in r.location
        assert client.get("/staff").status_code == 302  # stays logged out
        db.session.expire_all()
        row = db.session.scalars(db.select(StaffSession)).one()
        assert row.end_reason == "idle"
        assert "session.expired" in actions(object_type="user", object_id=str(row.user_id))
    finally:
        app.config["STAFF_IDLE_MINUTES"] = 30


def test_absolute_time_out_ends_even_an_active_session(app, staff):
    client = app.test_client()
    staff_login(client, "agent@callcentre.example", PASSWORD)
    _age_session(created_at=timedelta(hours=11, minutes=59))
    assert client.get("/staff").status_code == 200
    _age_session(created_at=timedelta(minutes=2))
    r = client.get("/staff")
    assert r.status_code == 302
    r = client.get(r.location)
    assert "Din session er udløbet" in r.get_data(as_text=True) or "expired" in r.get_data(
        as_text=True
    )
    assert db.session.scalars(db.select(StaffSession)).one().end_reason == "absolute"


def test_disabling_a_user_ends_its_sessions_at_once(app, staff):
    agent = app.test_client()
    staff_login(agent, "agent@callcentre.example", PASSWORD)
    assert agent.get("/staff").status_code == 200
    admin = app.test_client()
    staff_login(admin, "admin@star.example", PASSWORD)
    html = admin.get("/staff/users").get_data(as_text=True)
    target = staff["agent"].id
    r = admin.post(f"/staff/users/{target}/disable", data={"csrf_token": csrf_token(html)})
    assert r.status_code == 302
    assert agent.get("/staff").status_code == 302
    assert post_password(app.test_client(), "agent@callcentre.example").status_code == 401
    assert actions(action="user.disabled", object_id=str(target)) == ["user.disabled"]
    event = db.session.scalars(db.select(AuditEvent).filter_by(action="user.disabled")).one()
    assert event.actor_id == staff["admin"].id
    html = admin.get("/staff/users").get_data(as_text=True)
    admin.post(f"/staff/users/{target}/enable", data={"csrf_token": csrf_token(html)})
    assert post_password(app.test_client(), "agent@callcentre.example").status_code == 302


def test_administrator_resets_another_users_second_factor(app, staff):
    operator = app.test_client()
    staff_login(operator, "op@jobportalen.example", PASSWORD)
    old_secret = user("op@jobportalen.example").totp_secret
    admin = app.test_client()
    staff_login(admin, "admin@star.example", PASSWORD)
    html = admin.get("/staff/users").get_data(as_text=True)
    target = staff["operator"].id
    assert f"/staff/users/{target}/reset-totp" in html
    r = admin.post(f"/staff/users/{target}/reset-totp", data={"csrf_token": csrf_token(html)})
    assert r.status_code == 302
    assert operator.get("/staff").status_code == 302  # logged out
    assert user("op@jobportalen.example").totp_secret is None
    r = post_password(app.test_client(), "op@jobportalen.example")
    assert r.location.endswith("/login/enrol")  # enrols again
    staff_login(app.test_client(), "op@jobportalen.example", PASSWORD)
    assert user("op@jobportalen.example").totp_secret not in (None, old_secret)
    event = db.session.scalars(db.select(AuditEvent).filter_by(action="totp.reset")).one()
    assert event.actor_id == staff["admin"].id and event.object_id == str(target)
    # nobody resets their own account from this page
    me = staff["admin"].id
    html = admin.get("/staff/users").get_data(as_text=True)
    admin.post(f"/staff/users/{me}/reset-totp", data={"csrf_token": csrf_token(html)})
    assert user("admin@star.example").totp_secret is not None


def test_administrator_adds_a_user_with_clear_errors(app, staff):
    admin = app.test_client()
    staff_login(admin, "admin@star.example", PASSWORD)
    html = admin.get("/staff/users/new").get_data(as_text=True)
    r = admin.post(
        "/staff/users/new",
        data={"email": "new@partner.example", "role": "partner_operator", "organisation": "",
              "csrf_token": csrf_token(html)},
    )  # fmt: skip
    assert r.status_code == 200 and "--org" in r.get_data(as_text=True)
    r = admin.post(
        "/staff/users/new",
        data={"email": "new@partner.example", "role": "partner_operator",
              "organisation": "jobportalen", "csrf_token": csrf_token(html)},
    )  # fmt: skip
    password = re.search(r'id="new-password">([^<]+)<', r.get_data(as_text=True)).group(1)
    assert user("new@partner.example").organisation.code == "jobportalen"
    assert post_password(app.test_client(), "new@partner.example", password).status_code == 302
    event = db.session.scalars(db.select(AuditEvent).filter_by(action="user.added")).all()[-1]
    assert event.actor_id == staff["admin"].id and event.details["role"] == "partner_operator"


def test_command_line_disables_and_resets_with_an_audit_trail(app, staff, runner):
    operator = app.test_client()
    staff_login(operator, "op@jobportalen.example", PASSWORD)
    r = runner.invoke(args=["users", "reset-totp", "op@jobportalen.example"])
    assert r.exit_code == 0, r.output
    assert operator.get("/staff").status_code == 302
    assert user("op@jobportalen.example").totp_secret is None
    r = runner.invoke(args=["users", "disable", "agent@callcentre.example"])
    assert r.exit_code == 0 and not user("agent@callcentre.example").active
    r = runner.invoke(args=["users", "disable", "nobody@star.example"])
    assert r.exit_code != 0 and "no staff user with e-mail nobody@star.example" in r.output
    events = db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.action.in_(["totp.reset", "user.disabled"]))
    ).all()
    assert sorted((e.action, e.actor_label) for e in events) == [
        ("totp.reset", "cli"), ("user.disabled", "cli"),
    ]  # fmt: skip
