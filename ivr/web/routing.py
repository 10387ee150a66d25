"""The front door's routing pages (admins only, by the policy): the routing in force with its
versions and audit log, the draft editor (YAML checked as you type, the queues as the draft has
them), publish, roll back and diff. ivr.services.flow_studio.routing checks and commits."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from ivr.services.errors import DomainError, NotFound
from ivr.services.flow_studio import routing as studio
from ivr.web import bp
from ivr.web.forms import RollbackForm, RoutingForm
from ivr.web.sessions import principal

Page = str | Response | tuple[str, int]


def _who() -> Any:
    who = principal()
    if who is None:  # pragma: no cover - the policy signs people in first
        abort(404)
    return who


def _sentence(exc: DomainError) -> str:
    return exc.message[:1].upper() + exc.message[1:] + "."


@bp.get("/routing")
def routing() -> Page:
    try:
        record = studio.record()
    except NotFound as exc:
        return render_template("routing.html", record=None, missing=_sentence(exc))
    current = studio.current()
    return render_template(
        "routing.html",
        record=record,
        current=current,
        queues=studio.queues(studio.routing_of(current)),
        versions=studio.versions(),
        log=studio.audit_log(),
        rollback=RollbackForm(),
    )


def _editor(form: RoutingForm, status: int = 200) -> tuple[str, int]:
    draft = studio.draft()
    if not form.document.data:
        form.document.data = draft.yaml_text
    shown = studio.checked(form.document.data, draft.base, draft.saved)
    return render_template("routing_draft.html", draft=shown, form=form), status


def _found(work: Any, *args: Any) -> Any:
    try:
        return work(*args)
    except NotFound:
        abort(404)


@bp.get("/routing/draft")
def routing_draft() -> Page:
    _found(studio.record)
    return _editor(RoutingForm())


@bp.post("/routing/draft/check")
def routing_draft_check() -> str:
    """The htmx check while typing: the problems and the queues as the posted text has them."""
    saved = _found(studio.draft)
    checked = studio.checked(request.form.get("document", ""), saved.base, saved.saved)
    return render_template("_routing_check.html", draft=checked)


@bp.post("/routing/draft")
def routing_draft_save() -> Page:
    _found(studio.record)
    form = RoutingForm()
    if not form.validate_on_submit():
        return _editor(form, 422)
    saved = studio.save_draft(form.document.data or "", _who())
    errors = len(saved.errors)
    flash(f"Draft saved{f' with {errors} error(s) to fix before publishing' if errors else ''}.")
    return redirect(url_for("web.routing_draft"), 303)


@bp.post("/routing/publish")
def routing_publish() -> Page:
    _found(studio.record)
    form = RoutingForm()
    if not form.validate_on_submit():
        return _editor(form, 422)
    studio.save_draft(form.document.data or "", _who())
    try:
        version = studio.publish(form.note.data or "", _who())
    except DomainError as exc:
        (form.note if "note" in exc.fields else form.document).errors.append(_sentence(exc))
        return _editor(form, 422)
    flash(f"Routing version {version.version} published: the next call to the front door follows it.")
    return redirect(url_for("web.routing"), 303)


@bp.post("/routing/draft/discard")
def routing_draft_discard() -> Response:
    _found(studio.record)
    if RoutingForm().validate_on_submit():
        studio.discard_draft(_who())
        flash("Draft discarded.")
    return redirect(url_for("web.routing"), 303)


@bp.post("/routing/versions/<int:number>/rollback")
def routing_rollback(number: int) -> Response:
    _found(studio.version, number)
    form = RollbackForm()
    if form.validate_on_submit():
        try:
            version = studio.rollback(number, form.note.data or "", _who())
        except DomainError as exc:
            flash(_sentence(exc))
        else:
            flash(f"Routing version {number} republished as version {version.version}: calls follow it now.")
    return redirect(url_for("web.routing"), 303)


@bp.get("/routing/diff")
def routing_diff() -> str:
    numbers = [row.version for row in _found(studio.versions)]
    before = request.args.get("from", type=int) or (numbers[1] if len(numbers) > 1 else numbers[0])
    after = request.args.get("to", type=int) or numbers[0]
    if before not in numbers or after not in numbers:
        abort(404)
    return render_template(
        "routing_diff.html", numbers=numbers, before=before, after=after, diff=studio.diff(before, after)
    )
