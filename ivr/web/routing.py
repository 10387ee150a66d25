"""The front door's routing pages (admins only, by the policy): the routing in force with its
versions and audit log, the draft editor (YAML checked as you type, the queues as the draft has
them), publish, roll back and diff. ivr.services.flow_studio.routing checks and commits."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from ivr.flows.routing import Invitation
from ivr.services.errors import DomainError, NotFound
from ivr.services.flow_studio import routing as studio
from ivr.web import bp
from ivr.web.flows import Page, _found, _who
from ivr.web.forms import QueueForm, RollbackForm, RoutingForm


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


# --- one queue as a form

INVITATIONS = [invitation.value for invitation in Invitation]


def _lines(name: str) -> list[str]:
    return [line.strip() for line in request.form.get(name, "").splitlines() if line.strip()]


def _posted_queue() -> studio.QueueChange:
    def text(name: str) -> str | None:
        return request.form.get(name, "").strip() or None

    def number(name: str) -> object:
        value = text(name)
        return int(value) if value is not None and value.isdigit() else value  # the check explains

    return studio.QueueChange(
        agents=_lines("agents"),
        numbers=_lines("numbers"),
        values={
            "invitation": text("invitation"),
            "flow": text("flow"),
            "language": text("language"),
            "ring_seconds": number("ring_seconds"),
            "sms_invitation": True if request.form.get("sms_invitation") == "on" else None,
            "sms_delay_minutes": number("sms_delay_minutes"),
            "time_zone": text("time_zone"),
        },
        default=request.form.get("default") == "on",
    )


@bp.route("/routing/draft/queues/<queue_name>", methods=["GET", "POST"])
def routing_draft_queue(queue_name: str) -> Page:
    """One queue of the draft as a form, checked as you type (htmx) and saved into the draft."""
    name = queue_name
    saved = _found(studio.draft)
    if studio.queue_document(saved.yaml_text, name) is None:
        abort(404)
    form = QueueForm()
    text = saved.yaml_text
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        text = studio.with_queue(saved.yaml_text, name, _posted_queue())
        if request.headers.get("HX-Request"):  # checked as you type, nothing saved
            checked = studio.checked(text, saved.base, saved.saved)
            context = _queue_context(checked, name, form)
            return render_template("_routing_queue_problems.html", oob=True, **context)
        draft = studio.save_draft(text, _who())
        errors = len(draft.errors)
        flash(f"Queue {name} saved into the draft{f'; the draft has {errors} error(s)' if errors else ''}.")
        return redirect(url_for("web.routing_draft_queue", queue_name=name), 303)
    return render_template("routing_queue.html", **_queue_context(saved, name, form))


def _queue_context(draft: studio.RoutingDraft, name: str, form: QueueForm) -> dict[str, Any]:
    queue = studio.queue_document(draft.yaml_text, name) or {}
    prefix = f"queues.{name}"
    by_field: dict[str, list[str]] = {}
    for problem in draft.problems_at(prefix):
        rest = (problem.field or "").removeprefix(prefix).lstrip(".")
        target = rest.split(".")[0] if rest.split(".")[0] in studio.QUEUE_FIELDS else ""
        by_field.setdefault(target, []).append(problem.message)
    for problem in draft.problems:  # the document's own (a default queue or number gone wrong)
        if not (problem.field or "").startswith("queues."):
            by_field.setdefault("", []).append(problem.message)
    flows = studio.published_flows()
    return {
        "draft": draft,
        "name": name,
        "queue": queue,
        "numbers": studio.numbers_of(draft.yaml_text, name),
        "is_default": _default_of(draft.yaml_text) == name,
        "form": form,
        "by_field": by_field,
        "invitations": INVITATIONS,
        "flows": sorted(flows),
        "languages": sorted({lang for flow in flows.values() for lang in flow.flow.languages}),
    }


def _default_of(text: str) -> str | None:
    document = studio.document_of(text)
    value = (document or {}).get("default_queue")
    return value if isinstance(value, str) else None
