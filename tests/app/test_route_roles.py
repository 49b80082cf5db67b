"""Every staff and API route, tried anonymously, with each role, and by a partner operator of
another organisation with the ids of objects that are not its own.

The table ``ACCESS`` lists, per endpoint name, which roles may use it. The test walks
``app.url_map``: a route under /staff, /agent, /supervisor or /api that is missing from the
table fails ``test_every_protected_endpoint_is_in_the_table`` with the list of what to add, so a
new page cannot ship without deciding who may see it.

Conventions of the table:
- ``partner_operator`` is an operator of *Jobportalen*, the organisation that owns the objects
  put into the URLs; ``other_operator`` (of *KarriereNet*) is always tried too. For a
  ``scoped=True`` endpoint it must be refused (403 or 404); otherwise it is treated like any
  partner operator (the page itself filters to its own organisation).
- Refused: anonymous users get 401 or a redirect to /login, logged-in users 401, 403 or 404.
- Allowed: a GET answers one of ``ok`` (200 unless stated); a POST (sent without CSRF, so the
  role check is what is tested) answers anything but a refusal or a server error.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from survey_app.auth.services import add_user
from survey_app.core.db import db
from survey_app.demo import ROUND
from survey_app.sampling.models import Case

from .helpers import staff_login

PREFIXES = ("/staff", "/agent", "/supervisor", "/api")
ROLES = ("admin", "analyst", "partner_operator", "supervisor", "agent")
STAR = ("admin", "analyst")
PARTNER = (*STAR, "partner_operator")
EVERY = ROLES


@dataclass(frozen=True)
class Access:
    roles: frozenset[str]
    #: the URL names an object of one organisation: another organisation's operator is refused
    scoped: bool = False
    #: statuses of an allowed GET
    ok: tuple[int, ...] = (200,)
    #: routes under the prefixes that need no staff login at all (e.g. an API using keys)
    public: bool = False
    #: a mounted third-party app: for permitted roles only "not refused" is checked (its own
    #: answers to the test's data, errors included, are its business)
    third_party: bool = False


def allow(
    *roles: str, scoped: bool = False, ok: tuple[int, ...] = (200,), third_party: bool = False
) -> Access:
    unknown = set(roles) - set(ROLES)
    assert not unknown, f"unknown roles {unknown}"
    return Access(frozenset(roles), scoped=scoped, ok=ok, third_party=third_party)


ACCESS: dict[str, Access] = {
    "auth.home": allow(*EVERY),
    "staff_users.users": allow("admin"),
    "staff_users.new_user": allow("admin"),
    "staff_users.disable": allow("admin"),
    "staff_users.enable": allow("admin"),
    "staff_users.reset_totp": allow("admin"),
    "staff_audit.events": allow("admin"),
    "staff_audit.export_csv": allow("admin"),
    "stats.rounds": allow(*PARTNER),
    "stats.export_csv": allow(*PARTNER),
    "sampling.report": allow(*STAR),
    "sampling.sample_csv": allow(*STAR),
    # 404 until a letter batch is printed (the demo has none)
    "messaging.letters_pdf": allow("admin", "supervisor", ok=(200, 404)),
    "messaging_queues": allow("admin", "supervisor"),
    "rq_dashboard.*": allow("admin", "supervisor", third_party=True),
    "stats_exports.exports": allow(*PARTNER),
    "stats_exports.delivery_log": allow("admin"),
    "partners.my_brand": allow("admin", "partner_operator", ok=(302,)),
    "partners.brands": allow("admin", "partner_operator"),
    "partners.brand": allow("admin", "partner_operator", scoped=True),
    "partners.upload_logo": allow("admin", "partner_operator", scoped=True),
    "partners.remove_logo": allow("admin", "partner_operator", scoped=True),
    "partners.create_key": allow("admin", "partner_operator", scoped=True),
    "partners.rotate_keys": allow("admin", "partner_operator", scoped=True),
    "partners.revoke_key": allow("admin", "partner_operator", scoped=True),
    "brand_preview.*": allow("admin", "partner_operator", scoped=True),
    "imports.batches": allow(*PARTNER),
    "imports.batch": allow(*PARTNER, scoped=True),
    "imports.errors_csv": allow(*PARTNER, scoped=True),
    # download of a written export file; another organisation's export is not there (404)
    "stats_exports.download": allow(*PARTNER, scoped=True),
    "stats_exports.delivery_retry": allow("admin"),
    # agents (and supervisors standing in) work the call list; a case they do not hold sends
    # them back to /agent (302), it never shows the case
    "callcentre.home": allow("agent", "supervisor"),
    "callcentre.next_case": allow("agent", "supervisor"),
    "callcentre.case": allow("agent", "supervisor", ok=(302,)),
    "callcentre.outcome": allow("agent", "supervisor"),
    "callcentre.renew": allow("agent", "supervisor"),
    "callcentre.start_interview": allow("agent", "supervisor"),
    # click-to-call: the call's state answers 409 for a case the agent does not hold
    "callcentre_voice.call": allow("agent", "supervisor"),
    "callcentre_voice.call_state": allow("agent", "supervisor", ok=(200, 409)),
    "agent_survey.*": allow("agent", "supervisor", ok=(302,)),
    "callcentre_supervisor.*": allow("admin", "supervisor"),
    # the feed API takes keys, never a staff session
    "postings_api.*": allow(),
    # the statistics API takes keys, never a staff session; its OpenAPI document is public
    "stats_api.*": allow(),
    "stats_api.openapi": Access(frozenset(), public=True),
    # data-subject requests: STAR's administrators only (a person's records span organisations)
    "privacy_subjects.*": allow("admin", ok=(200,)),
    # the privacy register and retention runs (a dry run changes nothing): administrators only
    "privacy_register.*": allow("admin"),
}

#: endpoints that exist in one mode only (the queue board: RQ dashboard with Redis, a page
#: without it)
MODE_DEPENDENT = {"messaging_queues", "rq_dashboard.*"}

USERS = {
    "admin": "admin@star.example",
    "analyst": "analyst@star.example",
    "partner_operator": "operator@jobportalen.example",
    "other_operator": "operator@karrierenet.example",
    "supervisor": "supervisor@callcentre.example",
    "agent": "agent@callcentre.example",
}


def _case(brand: str) -> Case:
    return db.session.scalars(
        db.select(Case).where(Case.brand.has(code=brand)).order_by(Case.id)
    ).first()


#: values for URL arguments, by name: objects that belong to Jobportalen (or neutral ones)
ARGUMENTS = {
    "code": lambda w: ROUND,
    "round_code": lambda w: ROUND,
    "user_id": lambda w: w["spare_user"],
    "case_id": lambda w: _case("jobportalen").id,
    "response_id": lambda w: _case("jobportalen").response_id,
    "brand_code": lambda w: "jobportalen",
    "org_code": lambda w: "jobportalen",
    # rq-dashboard's (mounted under /staff/queues)
    "instance_number": lambda w: 0,
    "queue_name": lambda w: "default",
    "registry_name": lambda w: "queued",
    "per_page": lambda w: 8,
    "order": lambda w: "asc",
    "page": lambda w: 1,
    "job_id": lambda w: _parked_job(),
    "kid": lambda w: _launch_key(),
    "page_id": lambda w: "role",
    "filename": lambda w: "no-such-file.css",
    "batch_id": lambda w: _import_batch("jobportalen"),
    "export_id": lambda w: w["export"],
    "delivery_id": lambda w: w["delivery"],
    "name": lambda w: "progress_round",
    "table_id": lambda w: "recruitment_total",
}


def _import_batch(source: str) -> int:
    from survey_app.sampling.models import ImportBatch

    return db.session.scalars(
        db.select(ImportBatch.id)
        .where(ImportBatch.source.has(code=source))
        .order_by(ImportBatch.id)
    ).first()


def _launch_key() -> str:
    """An active launch key of Jobportalen: a fresh one per URL, since revoking one is allowed."""
    from survey_app.partners.services import create_launch_key, get_organisation

    key = create_launch_key(get_organisation("jobportalen"))
    db.session.commit()
    return key.kid


def _parked_job() -> str:
    """A failed job in the default queue (what the board's requeue and delete act on): a fresh
    one per URL, since a permitted delete removes it."""
    from rq.job import Job, JobStatus

    from survey_app.core.queue import get_queue

    queue = get_queue("default")
    job = Job.create("os.getcwd", connection=queue.connection, origin=queue.name)
    job.set_status(JobStatus.FAILED)
    job.save()
    queue.failed_job_registry.add(job, exc_string="RuntimeError: parked for the test")
    return job.id


def access_for(endpoint: str) -> Access | None:
    """The entry for the endpoint, or for its whole blueprint ("rq_dashboard.*")."""
    if endpoint in ACCESS:
        return ACCESS[endpoint]
    return ACCESS.get(endpoint.rsplit(".", 1)[0] + ".*") if "." in endpoint else None


def protected_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(PREFIXES):
            yield rule


def test_every_protected_endpoint_is_in_the_table(app):
    missing = sorted(
        {
            f"{r.endpoint}  ({r.rule})"
            for r in protected_rules(app)
            if access_for(r.endpoint) is None
        }
    )
    endpoints = {r.endpoint for r in app.url_map.iter_rules()}
    blueprints = {e.rsplit(".", 1)[0] + ".*" for e in endpoints if "." in e}
    stale = sorted(set(ACCESS) - endpoints - blueprints - MODE_DEPENDENT)
    if missing:
        print("Endpoints missing from ACCESS in tests/app/test_route_roles.py:")
        print("\n".join(f"  {m}" for m in missing))
    assert not missing, (
        "add these endpoints to ACCESS in tests/app/test_route_roles.py with the roles that may "
        "use them:\n  " + "\n  ".join(missing)
    )
    assert not stale, f"ACCESS lists endpoints that no longer exist: {stale}"


@pytest.fixture
def world(demo, tmp_path):
    spare, _ = add_user("spare@callcentre.example", "agent", None, "a-spare-password-1")
    db.session.commit()
    return {
        "spare_user": spare.id,
        "export": _written_export("jobportalen"),
        "delivery": _failed_delivery(),
    }


def _written_export(org_code: str) -> int:
    """A finished CSV export of Jobportalen's cases, its file on disk."""
    from survey_app.partners.services import get_organisation
    from survey_app.sampling.rounds import get_round
    from survey_app.stats.jobs import export_dir
    from survey_app.stats.models import Export

    export = Export(
        round_id=get_round(ROUND).id,
        format="csv",
        organisation_id=get_organisation(org_code).id,
        state="ready",
        path=f"route-roles-{org_code}.csv",
    )
    db.session.add(export)
    db.session.commit()
    export_dir().mkdir(parents=True, exist_ok=True)
    (export_dir() / export.path).write_text("case_id\n1\n")
    return export.id


def _failed_delivery() -> int:
    from survey_app.stats.models import Delivery

    delivery = Delivery(
        response_id=_case("jobportalen").response_id,
        payload="{}",
        payload_hash="0" * 64,
        state="failed",
    )
    db.session.add(delivery)
    db.session.commit()
    return delivery.id


def _url(app, rule, world) -> str:
    values = {}
    for name in rule.arguments:
        if name not in ARGUMENTS:
            pytest.fail(
                f"no value for URL argument {name!r} of {rule.endpoint} ({rule.rule}): add it "
                "to ARGUMENTS in tests/app/test_route_roles.py"
            )
        values[name] = ARGUMENTS[name](world)
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **values)


def _refused(status: int, location: str | None, anonymous: bool) -> bool:
    if anonymous:
        return status == 401 or (status == 302 and "/login" in (location or ""))
    return status in (401, 403, 404)


def test_each_route_with_each_role_and_another_organisations_ids(app, world):
    clients = {"anonymous": app.test_client()}
    for who, email in USERS.items():
        clients[who] = app.test_client()
        staff_login(clients[who], email)
    app.config["WTF_CSRF_ENABLED"] = False  # the role check, not the CSRF check, is tested
    problems, tried = [], 0
    try:
        for rule in sorted(protected_rules(app), key=lambda r: r.rule):
            access = access_for(rule.endpoint)
            if access is None:
                continue  # reported by test_every_protected_endpoint_is_in_the_table
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                # refusals first: a permitted POST may change what the URL points at
                order = sorted(clients, key=lambda w: _permitted(w, access))
                for who in order:
                    url = _url(app, rule, world)  # afresh: a permitted POST may use it up
                    permitted = _permitted(who, access)
                    try:
                        # a browser sends Origin; the queue board checks it on POST
                        response = clients[who].open(
                            url, method=method, headers={"Origin": "http://localhost"}
                        )
                    except Exception:
                        if permitted and access.third_party:
                            continue
                        raise
                    tried += 1
                    status, location = response.status_code, response.headers.get("Location")
                    if access.public:
                        ok = status < 500
                    elif not permitted:
                        ok = _refused(status, location, who == "anonymous")
                    elif access.third_party:
                        ok = status not in (401, 403) and "/login" not in (location or "")
                    elif method == "GET":
                        ok = status in access.ok
                    else:
                        ok = status < 500 and not _refused(status, location, False)
                        ok = ok and not (status == 302 and "/login" in (location or ""))
                    if not ok:
                        problems.append(
                            f"{method} {url} [{rule.endpoint}] as {who}: {status} "
                            f"({'should be allowed' if permitted else 'should be refused'})"
                        )
    finally:
        app.config["WTF_CSRF_ENABLED"] = True
    assert tried > 0
    assert not problems, "\n".join(problems)


def _permitted(who: str, access: Access) -> bool:
    if who == "anonymous":
        return access.public
    if who == "other_operator":
        return "partner_operator" in access.roles and not access.scoped
    return who in access.roles


def test_every_link_on_the_staff_home_opens_for_that_role(app, world):
    """The home page offers each role its pages, and only pages the role may open."""
    import re

    expected = {
        "admin": {"/staff/rounds", "/staff/users", "/staff/imports", "/staff/callcentre"},
        "partner_operator": {"/staff/rounds", "/staff/brand", "/staff/imports"},
        "agent": {"/agent"},
        "supervisor": {"/agent", "/staff/callcentre", "/staff/queues"},
    }
    for who, email in USERS.items():
        client = app.test_client()
        staff_login(client, email)
        home = client.get("/staff").get_data(as_text=True)
        links = set(re.findall(r'<li><a href="([^"]+)"', home))
        assert expected.get(who, set()) <= links, (who, links)
        for link in links:
            response = client.get(link, follow_redirects=True)
            assert response.status_code == 200, (who, link, response.status_code)
