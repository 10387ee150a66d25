"""The flow studio's pages (admins only, by the policy): the flows, a flow's versions and audit
log, the draft editor (YAML checked as you type, steps in order, prompt texts side by side),
publish, roll back and diff. The flow_studio services check and commit."""

from __future__ import annotations

from typing import Any

import yaml
from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from ivr.flows.yaml_text import dump_yaml, load_yaml
from ivr.services.errors import DomainError, NotFound
from ivr.services.flow_studio import audio, drafts, trial
from ivr.web import bp
from ivr.web.forms import AudioForm, DraftForm, RemoveAudioForm, RollbackForm, TryForm
from ivr.web.sessions import principal

Page = str | Response | tuple[str, int]
STEP_KINDS = ["message", "rating", "yes_no", "choice", "language", "record"]


def _who() -> Any:
    who = principal()
    if who is None:  # pragma: no cover - the policy signs people in first
        abort(404)
    return who


def _found(work: Any, *args: Any) -> Any:
    try:
        return work(*args)
    except NotFound:
        abort(404)


@bp.get("/flows")
def flows() -> str:
    return render_template("flows.html", flows=drafts.list_flows())


@bp.get("/flows/<flow_key>")
def flow(flow_key: str) -> str:
    record = _found(drafts.record, flow_key)
    return render_template(
        "flow.html",
        record=record,
        versions=drafts.versions(flow_key),
        log=drafts.audit_log(flow_key),
        rollback=RollbackForm(),
    )


def _posted_prompts() -> dict[str, dict[str, str]]:
    texts: dict[str, dict[str, str]] = {}
    for name, value in request.form.items():
        if name.startswith("text.") and name.count(".") >= 2:
            _, lang, key = name.split(".", 2)
            texts.setdefault(lang, {})[key] = value
    return texts


def _audio_form(draft: drafts.Draft, form: AudioForm | None = None) -> AudioForm:
    form = form or AudioForm()
    form.prompt.choices = [SelectChoice(key, key) for key in draft.prompt_keys()]
    form.language.choices = [SelectChoice(lang, lang) for lang in draft.languages]
    return form


def _editor(
    draft: drafts.Draft, form: DraftForm, status: int = 200, audio_form: AudioForm | None = None
) -> tuple[str, int]:
    if not form.document.data:
        form.document.data = draft.yaml_text
    page = render_template(
        "flow_draft.html",
        draft=draft,
        form=form,
        kinds=STEP_KINDS,
        audio_form=_audio_form(draft, audio_form),
        remove_form=RemoveAudioForm(),
    )
    return page, status


@bp.get("/flows/<flow_key>/draft")
def flow_draft(flow_key: str) -> Page:
    return _editor(_found(drafts.draft, flow_key), DraftForm())


@bp.post("/flows/<flow_key>/draft/check")
def flow_draft_check(flow_key: str) -> str:
    """The htmx check while typing: the problems and the steps as the posted draft has them."""
    saved = _found(drafts.draft, flow_key)
    merged = {lang: dict(texts) for lang, texts in saved.prompts.items()}
    for lang, texts in _posted_prompts().items():
        merged.setdefault(lang, {}).update(texts)
    checked = drafts.checked(
        flow_key, request.form.get("document", ""), merged, saved.base, True, saved.audio
    )
    return render_template("_flow_check.html", draft=checked)


def _save(flow_key: str, form: DraftForm) -> drafts.Draft | None:
    if not form.validate_on_submit():
        return None
    return drafts.save_draft(flow_key, form.document.data or "", _posted_prompts(), _who())


@bp.post("/flows/<flow_key>/draft")
def flow_draft_save(flow_key: str) -> Page:
    _found(drafts.record, flow_key)
    form = DraftForm()
    saved = _save(flow_key, form)
    if saved is None:
        return _editor(drafts.draft(flow_key), form, 422)
    errors = len(saved.errors)
    flash(f"Draft saved{f' with {errors} error(s) to fix before publishing' if errors else ''}.")
    return redirect(url_for("web.flow_draft", flow_key=flow_key), 303)


@bp.post("/flows/<flow_key>/draft/steps")
def flow_draft_steps(flow_key: str) -> Page:
    """Add, remove or move a step: the posted draft with the change, saved."""
    _found(drafts.record, flow_key)
    form = DraftForm()
    if form.validate_on_submit():
        try:
            document = load_yaml(form.document.data or "")
        except yaml.YAMLError:
            document = None
        if not isinstance(document, dict) or not isinstance(document.get("steps"), list):
            form.document.errors.append("Fix the YAML first: the steps can be changed once it reads.")
            return _editor(drafts.draft(flow_key), form, 422)
        message = _change_steps(document["steps"], request.form.get("op", ""), request.form)
        form.document.data = dump_yaml(document)
        drafts.save_draft(flow_key, form.document.data, _posted_prompts(), _who())
        flash(message)
        return redirect(url_for("web.flow_draft", flow_key=flow_key), 303)
    return _editor(drafts.draft(flow_key), form, 422)


def _change_steps(steps: list[Any], op: str, data: Any) -> str:
    verb, _, where = op.partition(":")
    if verb == "add":
        kind = data.get("new_kind", "message")
        key = (data.get("new_key") or "").strip() or f"step_{len(steps) + 1}"
        step: dict[str, Any] = {"key": key, "kind": kind if kind in STEP_KINDS else "message"}
        step["prompt"] = f"{key}.question" if step["kind"] != "message" else f"{key}.message"
        step.update(_NEW_STEP.get(step["kind"], {}))
        steps.append(step)
        return f"Step {key} added at the end: give its prompt a text in every language."
    if not where.isdigit() or int(where) >= len(steps):
        return "That step is no longer there."
    index = int(where)
    name = steps[index].get("key", f"#{index + 1}") if isinstance(steps[index], dict) else f"#{index + 1}"
    if verb == "remove":
        steps.pop(index)
        return f"Step {name} removed."
    target = index - 1 if verb == "up" else index + 1
    if verb in ("up", "down") and 0 <= target < len(steps):
        steps[index], steps[target] = steps[target], steps[index]
        return f"Step {name} moved {verb}."
    return "Nothing changed."


_NEW_STEP: dict[str, dict[str, Any]] = {
    "rating": {"min": 1, "max": 5},
    "choice": {"options": {1: "first", 2: "second"}},
    "language": {"options": {1: "en", 2: "es"}},
}


@bp.post("/flows/<flow_key>/publish")
def flow_publish(flow_key: str) -> Page:
    _found(drafts.record, flow_key)
    form = DraftForm()
    saved = _save(flow_key, form)
    if saved is None:
        return _editor(drafts.draft(flow_key), form, 422)
    try:
        version = drafts.publish(flow_key, form.note.data or "", _who())
    except DomainError as exc:
        message = exc.message[:1].upper() + exc.message[1:] + "."
        target = form.note if "note" in exc.fields else form.document
        target.errors.append(message)
        return _editor(drafts.draft(flow_key), form, 422)
    flash(f"Version {version.version} published: new calls get it now; surveys under way keep theirs.")
    return redirect(url_for("web.flow", flow_key=flow_key), 303)


@bp.post("/flows/<flow_key>/draft/discard")
def flow_draft_discard(flow_key: str) -> Response:
    _found(drafts.record, flow_key)
    if DraftForm().validate_on_submit():
        drafts.discard_draft(flow_key, _who())
        flash("Draft discarded.")
    return redirect(url_for("web.flow", flow_key=flow_key), 303)


@bp.post("/flows/<flow_key>/versions/<int:number>/rollback")
def flow_rollback(flow_key: str, number: int) -> Response:
    _found(drafts.version, flow_key, number)
    form = RollbackForm()
    if form.validate_on_submit():
        try:
            version = drafts.rollback(flow_key, number, form.note.data or "", _who())
        except DomainError as exc:
            flash(exc.message[:1].upper() + exc.message[1:] + ".")
        else:
            flash(f"Version {number} republished as version {version.version}: new calls get it now.")
    return redirect(url_for("web.flow", flow_key=flow_key), 303)


@bp.get("/flows/<flow_key>/diff")
def flow_diff(flow_key: str) -> str:
    numbers = [row.version for row, _ in _found(drafts.versions, flow_key)]
    before = request.args.get("from", type=int) or (numbers[1] if len(numbers) > 1 else numbers[0])
    after = request.args.get("to", type=int) or numbers[0]
    if before not in numbers or after not in numbers:
        abort(404)
    return render_template(
        "flow_diff.html",
        flow_key=flow_key,
        numbers=numbers,
        before=before,
        after=after,
        diff=drafts.diff(flow_key, before, after),
    )


@bp.route("/flows/<flow_key>/try", methods=["GET", "POST"])
def flow_try(flow_key: str) -> Page:
    """The phone panel: a whole call on the draft or a version through the signed webhooks."""
    record = _found(drafts.record, flow_key)
    numbers = [row.version for row, _ in drafts.versions(flow_key)]
    form = TryForm()
    form.version.choices = ([SelectChoice("draft", "The draft")] if record.draft_yaml is not None else []) + [
        SelectChoice(str(n), f"Version {n}" + (" (published)" if n == numbers[0] else "")) for n in numbers
    ]
    languages = drafts.draft(flow_key).languages
    form.language.choices = [SelectChoice(lang, lang) for lang in languages]
    result = None
    status = 200
    if form.validate_on_submit():
        try:
            version = trial.version_for(flow_key, form.version.data)
            result = trial.try_call(version, trial.parse_actions(form.keys.data or ""), form.language.data)
        except DomainError as exc:
            message = exc.message[:1].upper() + exc.message[1:] + "."
            (form.version if "version" in exc.fields else form.keys).errors.append(message)
            status = 422
    elif request.method == "POST":
        status = 422
    return render_template("flow_try.html", flow_key=flow_key, form=form, trial=result), status


@bp.post("/flows/<flow_key>/audio")
def flow_audio_upload(flow_key: str) -> Page:
    """Upload a recorded prompt onto the draft; the reason next to the field when it is refused."""
    draft = _found(drafts.draft, flow_key)
    form = _audio_form(draft)
    if form.validate_on_submit():
        upload = form.audio.data
        try:
            audio.upload(
                flow_key, form.language.data, form.prompt.data, upload.filename or "", upload.read(), _who()
            )
        except DomainError as exc:
            message = exc.message[:1].upper() + exc.message[1:] + "."
            target = {"language": form.language, "prompt": form.prompt}.get(next(iter(exc.fields), ""))
            (target or form.audio).errors.append(message)
        else:
            flash(f"Recording of {form.prompt.data} ({form.language.data}) uploaded: publish to play it.")
            return redirect(url_for("web.flow_draft", flow_key=flow_key), 303)
    return _editor(draft, DraftForm(formdata=None), 422, form)


@bp.post("/flows/<flow_key>/audio/remove")
def flow_audio_remove(flow_key: str) -> Response:
    _found(drafts.record, flow_key)
    form = RemoveAudioForm()
    if form.validate_on_submit() and form.prompt.data and form.language.data:
        audio.remove(flow_key, form.language.data, form.prompt.data, _who())
        flash(f"Recording of {form.prompt.data} ({form.language.data}) removed: it is spoken once published.")
    return redirect(url_for("web.flow_draft", flow_key=flow_key), 303)
