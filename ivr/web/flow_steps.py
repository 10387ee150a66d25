"""One step of a draft edited as a form: its kind's fields (from the flow schema), its prompt
texts per language side by side, checked as you type (htmx) and saved into the draft's YAML."""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from ivr.flows.schema import ChoiceStep, LanguageStep, MessageStep, RatingStep, RecordStep, Retries, YesNoStep
from ivr.flows.yaml_text import dump_yaml, load_yaml
from ivr.services.flow_studio import drafts
from ivr.web import bp
from ivr.web.flows import Page, _found, _who
from ivr.web.forms import StepForm

KINDS: dict[str, type[BaseModel]] = {
    "message": MessageStep,
    "rating": RatingStep,
    "yes_no": YesNoStep,
    "choice": ChoiceStep,
    "language": LanguageStep,
    "record": RecordStep,
}
# Mappings (a menu's options) stay in the YAML view: a list of digits is no single field.
_IN_YAML_ONLY = {"kind", "options", "retries"}


@dataclass(frozen=True)
class StepField:
    name: str  # as in the YAML and in problems: "min", "retries.no_input"
    input: str  # "text", "number", "checkbox" or "select"
    choices: tuple[str, ...] = ()
    optional: bool = True


def _field(name: str, info: FieldInfo) -> StepField:
    annotation = info.annotation
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    is_union = typing.get_origin(annotation) in (typing.Union, types.UnionType)
    inner = args[0] if is_union and len(args) == 1 else annotation
    optional = not info.is_required()
    if inner is bool:
        return StepField(name, "checkbox")
    if typing.get_origin(inner) is typing.Literal:
        return StepField(name, "select", tuple(str(a) for a in typing.get_args(inner)), optional)
    if inner is int:
        return StepField(name, "number", optional=optional)
    return StepField(name, "text", optional=optional)


def fields_for(kind: object) -> list[StepField]:
    model = KINDS.get(str(kind))
    if model is None:
        return [StepField("key", "text", optional=False), StepField("prompt", "text", optional=False)]
    fields = [_field(name, info) for name, info in model.model_fields.items() if name not in _IN_YAML_ONLY]
    if "retries" in model.model_fields:
        fields += [StepField(f"retries.{name}", "number") for name in Retries.model_fields]
    return fields


def _posted_value(spec: StepField) -> object:
    if spec.input == "checkbox":
        return request.form.get(spec.name) == "on"
    text = request.form.get(spec.name, "").strip()
    if text == "":
        return None
    if spec.input == "number":
        try:
            return int(text)
        except ValueError:
            return text  # the check says what is wrong with it
    return text


def apply_form(step: dict[str, Any]) -> dict[str, Any]:
    """The step with the posted fields; an empty optional field goes back to its default."""
    changed = dict(step)
    for spec in fields_for(step.get("kind")):
        value = _posted_value(spec)
        if "." in spec.name:
            outer, inner = spec.name.split(".", 1)
            nested = dict(changed.get(outer) or {})
            if value is None:
                nested.pop(inner, None)
            else:
                nested[inner] = value
            if nested:
                changed[outer] = nested
            else:
                changed.pop(outer, None)
        elif value is None or (spec.input == "checkbox" and value is False and spec.name not in step):
            changed.pop(spec.name, None)
        else:
            changed[spec.name] = value
    return changed


def _posted_prompts() -> dict[str, dict[str, str]]:
    texts: dict[str, dict[str, str]] = {}
    for name, value in request.form.items():
        if name.startswith("text.") and name.count(".") >= 2:
            _, lang, key = name.split(".", 2)
            texts.setdefault(lang, {})[key] = value
    return texts


@bp.route("/flows/<flow_key>/draft/steps/<int:number>", methods=["GET", "POST"])
def flow_draft_step(flow_key: str, number: int) -> Page:
    """The step at this position (1 = the first) of the draft."""
    index = number - 1
    saved = _found(drafts.draft, flow_key)
    document = load_yaml(saved.yaml_text) if saved.document is not None else None
    steps = document.get("steps") if isinstance(document, dict) else None
    if not isinstance(steps, list) or not 0 <= index < len(steps) or not isinstance(steps[index], dict):
        abort(404)
    form = StepForm()
    draft = saved
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        steps[index] = apply_form(steps[index])
        text = dump_yaml(document)
        if request.headers.get("HX-Request"):  # checked as you type, nothing saved
            merged = {lang: dict(texts) for lang, texts in saved.prompts.items()}
            for lang, texts in _posted_prompts().items():
                merged.setdefault(lang, {}).update(texts)
            draft = drafts.checked(flow_key, text, merged, saved.base, True, saved.audio)
            context = _context(draft, steps[index], index, form)
            return render_template("_flow_step_problems.html", oob=True, **context)
        draft = drafts.save_draft(flow_key, text, _posted_prompts(), _who())
        errors = len(draft.errors)
        flash(f"Step saved into the draft{f'; the draft has {errors} error(s)' if errors else ''}.")
        return redirect(url_for("web.flow_draft_step", flow_key=flow_key, number=number), 303)
    return render_template("flow_step.html", **_context(draft, steps[index], index, form))


def _context(draft: drafts.Draft, step: dict[str, Any], index: int, form: StepForm) -> dict[str, Any]:
    key = step.get("key")
    own = [p for p in draft.problems if p.step == key] if key else []
    fields = fields_for(step.get("kind"))
    names = {spec.name for spec in fields}
    by_field: dict[str, list[str]] = {}
    for problem in own:
        target = problem.field if problem.field in names else (problem.field or "").split(".")[0]
        by_field.setdefault(target if target in names else "", []).append(problem.message)
    values = {spec.name: _value(step, spec.name) for spec in fields}
    prompt_keys = [k for s, _, k in draft.prompt_uses() if s == key]
    return {
        "draft": draft,
        "step": step,
        "index": index,
        "form": form,
        "fields": fields,
        "values": values,
        "by_field": by_field,
        "prompt_keys": list(dict.fromkeys(prompt_keys)),
    }


def _value(step: dict[str, Any], name: str) -> Any:
    if "." in name:
        outer, inner = name.split(".", 1)
        nested = step.get(outer)
        return nested.get(inner) if isinstance(nested, dict) else None
    return step.get(name)
