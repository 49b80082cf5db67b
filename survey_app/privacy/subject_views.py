"""/staff/privacy/subjects: an administrator answers a data-subject request.

Only STAR's administrators use it. A partner operator does not: a person's records span
organisations (STAR's own postings and messages, other partners' cases), STAR is the controller
that answers requests, and a partner forwards any request it receives to STAR.

The searched address travels only in POST bodies (never in a URL, so never in a request log or
the browser history) and is shown back on the page, which is not cached."""

from __future__ import annotations

import json

from flask import Blueprint, Response, flash, render_template, request
from flask_babel import gettext as _

from survey_app.auth.access import require_role
from survey_app.auth.models import ADMIN
from survey_app.core import personal_data

from . import requests as service

bp = Blueprint("privacy_subjects", __name__, template_folder="templates")


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def _page(subject=None, findings=None, error=None, status=200):
    sources = personal_data.sources()
    html = render_template(
        "privacy/subjects.html",
        subject=subject,
        findings=findings,
        error=error,
        sources=sources,
        restriction=service.restriction_of(subject) if subject else None,
        linked=[s for s in service.linked_subjects(findings) if s != subject] if findings else [],
        kind=(subject.kind if subject else request.form.get("kind", "email")),
        raw=(subject.value if subject else request.form.get("value", "")),
    )
    return _no_store(Response(html, status=status))


def _subject():
    """The subject of the posted form, or an error page."""
    try:
        return service.parse(request.form.get("kind"), request.form.get("value")), None
    except service.RequestError as exc:
        return None, _page(error=_("Cannot search: %(reason)s", reason=str(exc)), status=400)


@bp.route("/staff/privacy/subjects", methods=["GET", "POST"])
@require_role(ADMIN)
def search():
    if request.method == "GET":
        return _page()
    subject, failed = _subject()
    if failed:
        return failed
    return _page(subject, service.find(subject))


@bp.route("/staff/privacy/subjects/export", methods=["POST"])
@require_role(ADMIN)
def export():
    subject, failed = _subject()
    if failed:
        return failed
    document = service.export(subject)
    body = json.dumps(document, ensure_ascii=False, indent=2, default=str)
    response = Response(body, mimetype="application/json")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="subject-request-{document["request"]}.json"'
    )
    return _no_store(response)


@bp.route("/staff/privacy/subjects/correct", methods=["POST"])
@require_role(ADMIN)
def correct():
    subject, failed = _subject()
    if failed:
        return failed
    try:
        service.correct(
            subject,
            request.form.get("source", ""),
            request.form.get("row_id", ""),
            request.form.get("field", ""),
            request.form.get("new_value", ""),
        )
    except service.RequestError as exc:
        findings = service.find(subject)
        return _page(
            subject, findings, error=_("Not corrected: %(reason)s", reason=str(exc)), status=400
        )
    flash(_("The field was corrected."), "info")
    return _page(subject, service.find(subject))


@bp.route("/staff/privacy/subjects/restrict", methods=["POST"])
@require_role(ADMIN)
def restrict():
    subject, failed = _subject()
    if failed:
        return failed
    findings = service.restrict(subject)
    flash(
        _(
            "Processing is restricted: %(n)s records, no further contact on any channel.",
            n=findings.count,
        ),
        "info",
    )
    return _page(subject, service.find(subject))


@bp.route("/staff/privacy/subjects/erase", methods=["POST"])
@require_role(ADMIN)
def erase():
    subject, failed = _subject()
    if failed:
        return failed
    if request.form.get("confirm") != "yes":
        return _page(
            subject,
            service.find(subject),
            error=_("Tick the box to confirm the erasure; nothing was erased."),
            status=400,
        )
    also = []
    for item in request.form.getlist("also"):
        kind, _sep, value = item.partition(":")
        try:
            also.append(service.parse(kind, value))
        except service.RequestError as exc:
            return _page(
                subject,
                service.find(subject),
                error=_("Not erased: %(reason)s", reason=str(exc)),
                status=400,
            )
    erased = service.erase(subject, also)
    flash(
        _("The person was erased from %(n)s records; statistical answers are kept.", n=erased),
        "info",
    )
    return _page(subject, service.find(subject))


def init_app(app) -> None:
    app.register_blueprint(bp)
