"""Load callflows/*.yaml against the prompt catalog and check each flow fully.

Every problem is reported with the file, the step and the field, all at once, so an admin can
fix a flow in one pass.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from ivr.flows import sms, speech
from ivr.flows.compiled import CompiledFlow
from ivr.flows.conditions import SENTIMENT, Condition, ConditionError
from ivr.flows.problems import FlowError, FlowProblem
from ivr.flows.prompts import PromptCatalog, load_prompts
from ivr.flows.schema import (
    ChoiceStep,
    Flow,
    LanguageStep,
    MessageStep,
    QuestionStep,
    RatingStep,
    RecordStep,
    Step,
    YesNoStep,
)
from ivr.flows.yaml_text import load_yaml

# Past this many combinations of earlier answers we do not prove a condition can be true.
_MAX_COMBINATIONS = 50_000

_STEP: TypeAdapter[MessageStep | QuestionStep] = TypeAdapter(Step)
# Top-level fields a broken value of which is replaced, for the cross-step checks only, by a
# stand-in (the schema error itself is reported): the flow is still checked step by step.
_STAND_INS = {"id": "draft", "title": "draft"}


@dataclass(frozen=True)
class _Unchecked:
    """A step that did not pass the schema: its key and kind as written, for the cross-step
    checks of the steps that did (a condition on it is neither unknown nor provably false)."""

    key: str | None
    kind: object
    when: str | None = None


def load_catalog(callflows_dir: Path, prompts_dir: Path) -> dict[str, CompiledFlow]:
    """Every flow in the folder, compiled; FlowError lists every problem found."""
    problems: list[FlowProblem] = []
    try:
        catalog = load_prompts(prompts_dir)
    except FlowError as exc:
        problems.extend(exc.problems)
        catalog = PromptCatalog()
    flows: dict[str, CompiledFlow] = {}
    paths = sorted(callflows_dir.glob("*.yaml")) + sorted(callflows_dir.glob("*.yml"))
    if not paths:
        problems.append(FlowProblem(str(callflows_dir), "no call flow (*.yaml) found"))
    for path in paths:
        try:
            compiled = load_flow_file(path, catalog)
        except FlowError as exc:
            problems.extend(exc.problems)
            continue
        flows[compiled.id] = compiled
    if problems:
        raise FlowError(problems)
    return flows


def load_flow_file(path: Path, catalog: PromptCatalog) -> CompiledFlow:
    name = f"{path.parent.name}/{path.name}"
    try:
        raw = load_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise FlowError([FlowProblem(name, f"not valid YAML: {exc}")]) from None
    flow, problems = _checked(raw, catalog, name)
    if flow is not None and flow.id != path.stem:
        problems.insert(
            0, FlowProblem(name, f"id {flow.id!r} must match the file name {path.stem!r}", field="id")
        )
    errors = [problem for problem in problems if problem.is_error]
    if flow is None or errors:
        raise FlowError(errors)
    return _compile(flow, catalog)


def check_flow(document: object, catalog: PromptCatalog, name: str = "draft") -> list[FlowProblem]:
    """Every problem with a flow document (parsed YAML) against these prompts, errors and
    warnings alike, each with its step and field: the one check the importer, the editor,
    publish and `flask flows check` all use."""
    return _checked(document, catalog, name)[1]


def compile_flow(document: object, catalog: PromptCatalog, name: str = "draft") -> CompiledFlow:
    """The flow frozen with the prompts it uses; FlowError lists every error (warnings pass)."""
    flow, problems = _checked(document, catalog, name)
    errors = [problem for problem in problems if problem.is_error]
    if flow is None or errors:
        raise FlowError(errors)
    return _compile(flow, catalog)


def _checked(document: object, catalog: PromptCatalog, name: str) -> tuple[Flow | None, list[FlowProblem]]:
    if not isinstance(document, dict):
        return None, [FlowProblem(name, "a flow must be a mapping with id, title, languages and steps")]
    try:
        flow = Flow.model_validate(document)
    except ValidationError as exc:
        # Report the schema's problems, and still cross-check the steps that do validate.
        problems = [_schema_problem(name, document, error) for error in exc.errors()]
        partial = _partial(document)
        if partial is not None:
            problems += _cross_checked(name, *partial, catalog)
        return None, problems
    return flow, _cross_checked(name, flow, list(flow.steps), catalog)


def _cross_checked(
    name: str, flow: Flow, sequence: list[MessageStep | QuestionStep | _Unchecked], catalog: PromptCatalog
) -> list[FlowProblem]:
    problems = _check_flow(name, flow, catalog, sequence)
    problems += sms.compile_texts(name, flow, catalog.sms, catalog.speech, catalog.texts)[2]
    return problems


def _partial(document: dict[str, Any]) -> tuple[Flow, list[MessageStep | QuestionStep | _Unchecked]] | None:
    """The flow made of the steps that validate (the others kept as _Unchecked, in their place),
    with a broken top-level field left at its default; None when there is nothing to cross-check."""
    raw_steps = document.get("steps")
    if not isinstance(raw_steps, list):
        return None
    sequence: list[MessageStep | QuestionStep | _Unchecked] = []
    for raw in raw_steps:
        try:
            sequence.append(_STEP.validate_python(raw))
        except ValidationError:
            fields = raw if isinstance(raw, dict) else {}
            key, when = fields.get("key"), fields.get("when")
            sequence.append(
                _Unchecked(
                    key if isinstance(key, str) else None,
                    fields.get("kind"),
                    when if isinstance(when, str) and when else None,
                )
            )
    valid = [step for step in sequence if not isinstance(step, _Unchecked)]
    if not valid:
        return None
    partial: dict[str, Any] = copy.deepcopy(dict(document, steps=valid))
    for _ in range(4):
        try:
            flow = Flow.model_validate(partial)
        except ValidationError as exc:
            errors = exc.errors()
        else:  # the flow's own step objects, in their places among the unchecked ones
            checked = iter(flow.steps)
            return flow, [entry if isinstance(entry, _Unchecked) else next(checked) for entry in sequence]
        languages = partial.get("languages")
        for error in errors:
            loc = [str(part) for part in error["loc"]]
            if not loc and isinstance(languages, list) and languages:
                partial["default_language"] = languages[0]
            elif not loc or loc[0] in ("languages", "default_language", "steps"):
                return None  # nothing sensible to check the steps against
            elif loc[0] in _STAND_INS:
                partial[loc[0]] = _STAND_INS[loc[0]]
            elif not _drop(partial, loc):
                partial.pop(loc[0], None)
    return None


def _drop(data: dict[str, Any], loc: list[str]) -> bool:
    """Leave the field at `loc` (a nested one) at its default; False when it is not there."""
    for part in loc[:-1]:
        data = data.get(part)  # type: ignore[assignment]
        if not isinstance(data, dict):
            return False
    return data.pop(loc[-1], None) is not None and len(loc) > 1


def _compile(flow: Flow, catalog: PromptCatalog) -> CompiledFlow:
    # The texts for the survey by text message (checked, with everything else, by _checked).
    sms_texts, reply_words, _ = sms.compile_texts(
        flow.id, flow, catalog.sms, catalog.speech, catalog.texts, warn=False
    )
    used_keys = _prompt_keys(flow)
    spoken = [step for step in flow.questions() if step.speech]
    return CompiledFlow(
        flow=flow,
        prompts={
            lang: {key: catalog.texts[lang][key] for key in sorted(used_keys)} for lang in flow.languages
        },
        voices={lang: catalog.voices[lang] for lang in flow.languages},
        speech={lang: _vocabulary(catalog.speech[lang], spoken) for lang in flow.languages} if spoken else {},
        audio={
            lang: {key: file for key, file in catalog.audio.get(lang, {}).items() if key in used_keys}
            for lang in flow.languages
            if any(key in used_keys for key in catalog.audio.get(lang, {}))
        },
        sms=sms_texts,
        reply_words=reply_words,
    )


def _vocabulary(data: dict[str, Any], steps: list[QuestionStep]) -> speech.Vocabulary:
    """The language's words, trimmed to the questions this flow asks by speech."""
    full = speech.Vocabulary.from_dict(data)
    prompts = {step.prompt for step in steps}
    return speech.Vocabulary(
        numbers=full.numbers,
        yes=full.yes,
        no=full.no,
        answers={key: phrases for key, phrases in full.answers.items() if key in prompts},
    )


# The field a whole-step (or whole-flow) rule of the schema is about, by its message, so that
# the editor can show the problem next to that field.
_RULE_FIELDS = (
    ("is a reserved word", "key"),
    ("impossible range", "min"),
    ("must run from 0 to 10", "min"),
    ("KPI", "kpi"),
    ("yes_digit and no_digit", "no_digit"),
    ("option", "options"),
    ("a language menu needs", "options"),
    ("a language is offered twice", "options"),
    ("min_length must be below", "min_length"),
    ("default_language", "default_language"),
)


def _schema_problem(name: str, raw: dict[str, Any], error: Any) -> FlowProblem:
    loc = list(error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "value_error" and (not loc or (loc[0] == "steps" and len(loc) <= 3)):
        loc += [field for words, field in _RULE_FIELDS if words in message][:1]
    if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int):
        index = loc[1]
        steps = raw.get("steps") or []
        step = steps[index] if index < len(steps) else None
        step_name = str(step.get("key")) if isinstance(step, dict) and step.get("key") else f"#{index + 1}"
        rest = loc[2:]
        if rest and isinstance(step, dict) and rest[0] == step.get("kind"):
            rest = rest[1:]  # pydantic puts the union's tag in the path
        if error["type"] == "union_tag_invalid" or error["type"] == "union_tag_not_found":
            rest = ["kind"]
            message = "must be one of message, rating, yes_no, choice, language, record"
        field = ".".join(str(part) for part in rest) or None
        return FlowProblem(name, message, step=step_name, field=field)
    field = ".".join(str(part) for part in loc) or None
    return FlowProblem(name, message, field=field)


def _prompt_keys(flow: Flow) -> set[str]:
    keys = set(flow.prompts.model_dump().values())
    for step in flow.steps:
        keys.add(step.prompt)
        if not isinstance(step, MessageStep):
            keys.update(k for k in (step.no_input_prompt, step.no_match_prompt) if k)
        if isinstance(step, RecordStep) and step.consent_prompt:
            keys.add(step.consent_prompt)
    return keys


def _check_flow(
    name: str, flow: Flow, catalog: PromptCatalog, sequence: list[MessageStep | QuestionStep | _Unchecked]
) -> list[FlowProblem]:
    """The checks across steps; `sequence` is every step in order, the ones that did not pass
    the schema (absent from `flow`) as _Unchecked."""
    problems: list[FlowProblem] = []

    seen: set[str] = set()
    for entry in sequence:
        if entry.key is None:
            continue
        if entry.key in seen:
            problems.append(FlowProblem(name, "the same step key is used twice", step=entry.key, field="key"))
        seen.add(entry.key)

    for lang in flow.languages:
        if lang not in catalog.voices:
            problems.append(
                FlowProblem(name, f"language {lang!r} has no prompts/{lang}/language.yaml", field="languages")
            )
    problems.extend(_missing_prompts(name, flow, catalog))
    problems.extend(_check_languages_and_speech(name, flow, catalog, sequence))
    problems.extend(_check_opt_out_key(name, flow))

    all_keys = [entry.key for entry in sequence if entry.key is not None]
    earlier: dict[str, QuestionStep | MessageStep | _Unchecked] = {}
    for entry in sequence:
        if entry.when:  # a step that did not validate still has its condition checked
            problems.extend(_check_condition(name, all_keys, entry.when, earlier, entry.key, "when"))
        if entry.key is not None:
            earlier[entry.key] = entry
    for rule_name in ("extreme_low", "extreme_high"):
        rule = getattr(flow.scoring, rule_name)
        if rule:
            problems.extend(_check_condition(name, all_keys, rule, earlier, None, f"scoring.{rule_name}"))
    if not flow.scoring.extreme_low:
        problems.append(
            FlowProblem(
                name,
                "no extreme-low rule: this flow never opens a callback task",
                field="scoring.extreme_low",
                severity="warning",
            )
        )
    return problems


def _missing_prompts(name: str, flow: Flow, catalog: PromptCatalog) -> list[FlowProblem]:
    problems = []
    uses: list[tuple[str | None, str, str]] = [
        (None, f"prompts.{field}", key) for field, key in flow.prompts.model_dump().items()
    ]
    for step in flow.steps:
        uses.append((step.key, "prompt", step.prompt))
        if not isinstance(step, MessageStep):
            uses += [
                (step.key, f, k)
                for f, k in (
                    ("no_input_prompt", step.no_input_prompt),
                    ("no_match_prompt", step.no_match_prompt),
                )
                if k
            ]
        if isinstance(step, RecordStep) and step.consent_prompt:
            uses.append((step.key, "consent_prompt", step.consent_prompt))
    for step_key, field, prompt_key in uses:
        missing = [lang for lang in flow.languages if prompt_key not in catalog.texts.get(lang, {})]
        if len(missing) == len(flow.languages):
            problems.append(
                FlowProblem(name, f"unknown prompt key {prompt_key!r}", step=step_key, field=field)
            )
        elif missing:
            problems.append(
                FlowProblem(
                    name,
                    f"prompt {prompt_key!r} is missing in language(s) {', '.join(missing)} "
                    f"(add it to prompts/{missing[0]}/)",
                    step=step_key,
                    field=field,
                )
            )
    return problems


def _check_opt_out_key(name: str, flow: Flow) -> list[FlowProblem]:
    """The opt-out key must not also be an answer, or a caller answering would opt out."""
    key = flow.opt_out_key
    if key is None:
        return []
    problems = []
    for step in flow.questions():
        if isinstance(step, YesNoStep):
            used = {step.yes_digit, step.no_digit}
        elif isinstance(step, ChoiceStep | LanguageStep):
            used = {str(digit) for digit in step.options}
        elif isinstance(step, RatingStep):
            used = {str(digit) for digit in range(10)} | ({"#"} if step.max_digits > 1 else set())
        else:
            assert isinstance(step, RecordStep)
            used = {step.finish_on_key}
        if key in used:
            problems.append(
                FlowProblem(name, f"{key!r} is also an answer to step {step.key!r}", field="opt_out_key")
            )
    return problems


def _check_languages_and_speech(
    name: str, flow: Flow, catalog: PromptCatalog, sequence: list[MessageStep | QuestionStep | _Unchecked]
) -> list[FlowProblem]:
    problems = []
    menus = [step for step in flow.steps if isinstance(step, LanguageStep)]
    for menu in menus[1:]:
        problems.append(
            FlowProblem(name, "a flow has at most one language menu", step=menu.key, field="kind")
        )
    # Steps that did not pass the schema count by the kind written on them.
    questions = [
        entry
        for entry in sequence
        if not isinstance(entry, MessageStep)
        and not (isinstance(entry, _Unchecked) and entry.kind == "message")
    ]
    if menus and questions[0] is not menus[0] and not isinstance(questions[0], _Unchecked):
        problems.append(
            FlowProblem(name, "the language menu must be the first question", step=menus[0].key, field="kind")
        )
    for menu in menus[:1]:
        for digit, lang in menu.options.items():
            if lang not in flow.languages:
                problems.append(
                    FlowProblem(
                        name,
                        f"offers {lang!r}, which is not among the flow's languages {flow.languages}",
                        step=menu.key,
                        field=f"options.{digit}",
                    )
                )
    for step in flow.questions():
        if not step.speech:
            continue
        for lang in flow.languages:
            for message in speech.problems(step, catalog.speech.get(lang)):
                problems.append(
                    FlowProblem(
                        name,
                        f"spoken answers in {lang!r}: {message} in prompts/{lang}/speech.yaml",
                        step=step.key,
                        field="speech",
                    )
                )
    return problems


def _check_condition(
    name: str,
    all_keys: list[str],
    source: str,
    earlier: dict[str, QuestionStep | MessageStep | _Unchecked],
    step_key: str | None,
    field: str,
) -> list[FlowProblem]:
    # One pass over a condition: parse, names, order, reachability; the checks share what they find.
    try:
        condition = Condition.parse(source)
    except ConditionError as exc:
        return [FlowProblem(name, f"condition {source!r} does not parse: {exc}", step=step_key, field=field)]
    problems = []
    for ref in sorted(condition.names()):
        if ref == SENTIMENT:
            if step_key is not None:
                problems.append(
                    FlowProblem(
                        name,
                        "sentiment is known only after the call: use it in the scoring rules",
                        step=step_key,
                        field=field,
                    )
                )
        elif ref in earlier:
            if isinstance(earlier[ref], MessageStep):
                problems.append(
                    FlowProblem(
                        name,
                        f"condition refers to message step {ref!r}, which has no answer",
                        step=step_key,
                        field=field,
                    )
                )
        elif ref in all_keys:
            problems.append(
                FlowProblem(
                    name,
                    f"condition refers to later step {ref!r}; it can only use earlier answers",
                    step=step_key,
                    field=field,
                )
            )
        else:
            problems.append(
                FlowProblem(name, f"condition refers to unknown step {ref!r}", step=step_key, field=field)
            )
    if problems:
        return problems
    if any(isinstance(earlier.get(ref), _Unchecked) for ref in condition.names()):
        return problems  # what a step that did not validate accepts is not known
    if not _can_be_true(condition, earlier):
        what = "the step is unreachable" if step_key else "the rule can never fire"
        problems.append(
            FlowProblem(
                name,
                f"condition {source!r} can never be true with the answers the steps accept: {what}",
                step=step_key,
                field=field,
            )
        )
    return problems


def _can_be_true(condition: Condition, earlier: dict[str, QuestionStep | MessageStep | _Unchecked]) -> bool:
    names = sorted(condition.names())
    domains: list[list[Any]] = []
    for ref in names:
        if ref == SENTIMENT:
            # Both sides of every number the rule compares with, the ends of the scale, unknown.
            edges = {edge + nudge for edge in condition.numbers() for nudge in (-0.01, 0, 0.01)}
            domains.append([*sorted({-1.0, 0.0, 1.0} | {e for e in edges if -1 <= e <= 1}), None])
            continue
        step = earlier[ref]
        assert not isinstance(step, MessageStep | _Unchecked)
        domains.append([*step.accepted_values(), None])
    total = 1
    for domain in domains:
        total *= len(domain)
    if total > _MAX_COMBINATIONS:
        return True
    return any(
        condition.evaluate(dict(zip(names, combo, strict=True))) for combo in itertools.product(*domains)
    )
