"""Broken flow files: each kind of mistake is reported with its file, step and field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from ivr import create_app
from ivr.flows import FlowError, load_catalog
from tests.helpers import make_settings, problems_for, step

ROOT = Path(__file__).resolve().parent.parent


def base_flow() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((ROOT / "callflows" / "post-call-csat.yaml").read_text())


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    flows = tmp_path / "callflows"
    flows.mkdir()
    shutil.copytree(ROOT / "prompts", tmp_path / "prompts")
    return flows, tmp_path / "prompts"


def test_the_sample_flow_loads(folders: tuple[Path, Path]) -> None:
    flows, prompts = folders
    shutil.copy(ROOT / "callflows" / "post-call-csat.yaml", flows)
    catalog = load_catalog(flows, prompts)
    assert list(catalog) == ["post-call-csat"]
    compiled = catalog["post-call-csat"]
    assert [s.key for s in compiled.flow.steps] == [
        "language",
        "intro",
        "opt_out_hint",
        "csat",
        "nps",
        "resolved",
        "unresolved_reason",
        "comment",
    ]
    # Only the spoken questions' phrases are frozen with the flow, in both languages.
    assert set(compiled.speech["es"].answers) == {"csat.question", "unresolved.question"}
    assert compiled.speech["es"].yes == ("sí", "claro", "correcto", "por supuesto", "resuelto")


def test_invalid_yaml_names_the_file(folders: tuple[Path, Path]) -> None:
    [problem] = problems_for(folders, "id: x\nsteps: [unclosed\n")
    assert problem.file == "callflows/post-call-csat.yaml"
    assert problem.message.startswith("not valid YAML")


def test_a_key_given_twice_names_the_file_and_the_line(folders: tuple[Path, Path]) -> None:
    text = (ROOT / "callflows" / "post-call-csat.yaml").read_text()
    once = "    prompt: nps.question\n"
    twice = text.replace(once, once + "    prompt: csat.question\n", 1)
    assert twice != text
    [problem] = problems_for(folders, twice)
    assert problem.file == "callflows/post-call-csat.yaml"
    assert "found duplicate key 'prompt'" in problem.message and "line" in problem.message


def test_impossible_range(folders: tuple[Path, Path]) -> None:
    flow = base_flow()
    step(flow, "csat").update(min=5, max=1)
    [problem] = problems_for(folders, flow)
    assert (problem.file, problem.step, problem.field) == ("callflows/post-call-csat.yaml", "csat", "min")
    assert "impossible range: min 5 must be below max 1" in problem.message


def test_a_schema_error_does_not_hide_the_checks_across_steps(folders: tuple[Path, Path]) -> None:
    flow = base_flow()
    step(flow, "nps").update(min=10, max=0, when="comment == 'recorded'")  # impossible range in one step
    step(flow, "csat")["when"] = "resolved == no"  # a condition on a later step in another
    step(flow, "resolved")["prompt"] = "resolved.unknown"
    step(flow, "unresolved_reason")["when"] = "nps <= 6"  # on the broken step: no false alarm
    flow["scoring"]["callback_deadline_hours"] = 0  # a broken top-level field
    flow["scoring"]["extreme_low"] = "csat == 'maybe'"
    found = {(p.step, p.field, p.message) for p in problems_for(folders, flow)}
    assert found == {
        ("nps", "min", "impossible range: min 10 must be below max 0"),
        ("nps", "when", "condition refers to later step 'comment'; it can only use earlier answers"),
        ("csat", "when", "condition refers to later step 'resolved'; it can only use earlier answers"),
        ("resolved", "prompt", "unknown prompt key 'resolved.unknown'"),
        (None, "scoring.callback_deadline_hours", "Input should be greater than or equal to 1"),
        (
            None,
            "scoring.extreme_low",
            "condition \"csat == 'maybe'\" can never be true with the answers the steps accept: "
            "the rule can never fire",
        ),
    }


def test_out_of_keypad_range_names_the_field(folders: tuple[Path, Path]) -> None:
    flow = base_flow()
    step(flow, "nps")["max"] = 100
    problems = problems_for(folders, flow)
    assert any(
        (p.step, p.field) == ("nps", "max") and "less than or equal to 99" in p.message for p in problems
    )


def test_unknown_step_kind(folders: tuple[Path, Path]) -> None:
    flow = base_flow()
    step(flow, "resolved")["kind"] = "yes_or_no"
    [problem] = problems_for(folders, flow)
    assert (problem.step, problem.field) == ("resolved", "kind")
    assert "message, rating, yes_no, choice" in problem.message


def test_misspelt_field_is_named(folders: tuple[Path, Path]) -> None:
    flow = base_flow()
    step(flow, "csat")["retires"] = {"no_input": 1}
    [problem] = problems_for(folders, flow)
    assert (problem.step, problem.field) == ("csat", "retires")
    assert "Extra inputs are not permitted" in problem.message


def test_negative_retry_count(folders: tuple[Path, Path]) -> None:
    flow = base_flow()
    step(flow, "csat")["retries"] = {"no_input": -1}
    [problem] = problems_for(folders, flow)
    assert (problem.step, problem.field) == ("csat", "retries.no_input")


def test_unknown_prompt_key(folders: tuple[Path, Path]) -> None:
    flow = base_flow()
    step(flow, "nps")["prompt"] = "nps.questoin"
    [problem] = problems_for(folders, flow)
    assert (problem.step, problem.field) == ("nps", "prompt")
    assert problem.message == "unknown prompt key 'nps.questoin'"


def test_prompt_missing_in_one_language(folders: tuple[Path, Path]) -> None:
    _, prompts = folders
    spanish = prompts / "es" / "post-call-csat.yaml"
    texts = yaml.safe_load(spanish.read_text())
    del texts["resolved.question"]
    spanish.write_text(yaml.safe_dump(texts, allow_unicode=True))
    [problem] = problems_for(folders, base_flow())
    assert (problem.step, problem.field) == ("resolved", "prompt")
    assert "'resolved.question' is missing in language(s) es" in problem.message


def test_language_without_prompts(folders: tuple[Path, Path]) -> None:
    flow = base_flow()
    flow["languages"] = ["en", "es", "fr"]
    problems = problems_for(folders, flow)
    assert any(p.field == "languages" and "prompts/fr/language.yaml" in p.message for p in problems)
    assert any(p.step == "csat" and "missing in language(s) fr" in p.message for p in problems)


def test_duplicate_step_key(folders: tuple[Path, Path]) -> None:
    flow = base_flow()
    step(flow, "nps")["key"] = "csat"
    problems = problems_for(folders, flow)
    assert any(
        (p.step, p.field, p.message) == ("csat", "key", "the same step key is used twice") for p in problems
    )


def test_condition_on_a_later_step(folders: tuple[Path, Path]) -> None:
    flow = base_flow()
    step(flow, "nps")["when"] = "resolved == no"
    [problem] = problems_for(folders, flow)
    assert (problem.step, problem.field) == ("nps", "when")
    assert "refers to later step 'resolved'" in problem.message


def test_condition_on_an_unknown_step(folders: tuple[Path, Path]) -> None:
    flow = base_flow()
    step(flow, "unresolved_reason")["when"] = "solved == no"
    [problem] = problems_for(folders, flow)
    assert (problem.step, problem.field) == ("unresolved_reason", "when")
    assert "unknown step 'solved'" in problem.message


def test_condition_that_does_not_parse(folders: tuple[Path, Path]) -> None:
    flow = base_flow()
    step(flow, "unresolved_reason")["when"] = "resolved = no"
    [problem] = problems_for(folders, flow)
    assert (problem.step, problem.field) == ("unresolved_reason", "when")
    assert "does not parse" in problem.message and "position 10" in problem.message


def test_unreachable_step(folders: tuple[Path, Path]) -> None:
    flow = base_flow()
    step(flow, "unresolved_reason")["when"] = "csat > 5"
    [problem] = problems_for(folders, flow)
    assert (problem.step, problem.field) == ("unresolved_reason", "when")
    assert "can never be true" in problem.message and "unreachable" in problem.message


def test_rule_that_can_never_fire(folders: tuple[Path, Path]) -> None:
    flow = base_flow()
    flow["scoring"]["extreme_low"] = "resolved == maybe or nps > 10"
    problems = problems_for(folders, flow)
    # "maybe" is read as a step name: unknown.
    assert any(p.field == "scoring.extreme_low" and "unknown step 'maybe'" in p.message for p in problems)
    flow["scoring"]["extreme_low"] = "resolved == 'maybe' or nps > 10"
    [problem] = problems_for(folders, flow)
    assert problem.field == "scoring.extreme_low" and "the rule can never fire" in problem.message


def test_flow_id_must_match_the_file(folders: tuple[Path, Path]) -> None:
    [problem] = problems_for(folders, base_flow(), name="other.yaml")
    assert (problem.file, problem.field) == ("callflows/other.yaml", "id")


def test_default_language_must_be_listed(folders: tuple[Path, Path]) -> None:
    flow = base_flow()
    flow["default_language"] = "de"
    [problem] = problems_for(folders, flow)
    assert problem.field == "default_language"
    assert "default_language 'de' is not among languages" in problem.message


def test_every_problem_in_every_file_is_reported_at_once(folders: tuple[Path, Path]) -> None:
    flows, _ = folders
    other = base_flow()
    other["id"] = "second"
    step(other, "csat")["prompt"] = "nowhere"
    (flows / "second.yaml").write_text(yaml.safe_dump(other))
    flow = base_flow()
    step(flow, "nps")["when"] = "resolved == no"
    problems = problems_for(folders, flow)
    assert {(p.file, p.step) for p in problems} == {
        ("callflows/second.yaml", "csat"),
        ("callflows/post-call-csat.yaml", "nps"),
    }


def test_the_app_refuses_to_start_with_a_broken_flow(folders: tuple[Path, Path], tmp_path: Path) -> None:
    flows, prompts = folders
    flow = base_flow()
    step(flow, "csat").update(min=5, max=1)
    (flows / "post-call-csat.yaml").write_text(yaml.safe_dump(flow))
    expected = r"callflows/post-call-csat.yaml: step 'csat': field 'min': impossible range"
    with pytest.raises(FlowError, match=expected):
        create_app(make_settings(None, tmp_path, callflows_dir=flows, prompts_dir=prompts))


def test_flows_check_command_lists_problems_and_exits_non_zero(
    folders: tuple[Path, Path], tmp_path: Path
) -> None:
    flows, prompts = folders
    shutil.copy(ROOT / "callflows" / "post-call-csat.yaml", flows)
    app = create_app(make_settings(None, tmp_path, callflows_dir=flows, prompts_dir=prompts))
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["flows", "check"])
    assert ok.exit_code == 0
    assert "ok  post-call-csat: 8 steps (6 questions), languages en, es" in ok.output

    flow = base_flow()
    step(flow, "nps")["prompt"] = "missing.key"
    (flows / "post-call-csat.yaml").write_text(yaml.safe_dump(flow))
    broken = runner.invoke(args=["flows", "check"])
    assert broken.exit_code == 1
    assert (
        "callflows/post-call-csat.yaml: step 'nps': field 'prompt': unknown prompt key 'missing.key'"
        in broken.output
    )


def test_duplicate_prompt_key_across_files(folders: tuple[Path, Path]) -> None:
    _, prompts = folders
    (prompts / "en" / "extra.yaml").write_text('goodbye: "Bye!"\n')
    problems = problems_for(folders, base_flow())
    assert any(
        p.file == "prompts/en/extra.yaml" and p.field == "goodbye" and "defined twice" in p.message
        for p in problems
    )


def test_consent_sentence_missing_in_one_language(folders: tuple[Path, Path]) -> None:
    _, prompts = folders
    spanish = prompts / "es" / "common.yaml"
    texts = yaml.safe_load(spanish.read_text())
    del texts["recording_consent"]
    spanish.write_text(yaml.safe_dump(texts, allow_unicode=True))
    [problem] = problems_for(folders, base_flow())
    assert (problem.step, problem.field) == ("comment", "consent_prompt")
    assert "'recording_consent' is missing in language(s) es" in problem.message


def test_spoken_answers_need_words_in_every_language(folders: tuple[Path, Path]) -> None:
    _, prompts = folders
    words = prompts / "es" / "speech.yaml"
    vocabulary = yaml.safe_load(words.read_text())
    del (
        vocabulary["answers"]["unresolved.question"]["otra cosa"],
        vocabulary["answers"]["unresolved.question"]["otro"],
    )
    vocabulary["answers"]["csat.question"]["fantástico"] = 6  # off the 1-5 scale
    words.write_text(yaml.safe_dump(vocabulary, allow_unicode=True))
    problems = problems_for(folders, base_flow())
    assert [(p.step, p.field) for p in problems] == [("csat", "speech"), ("unresolved_reason", "speech")]
    assert "'fantástico' means 6, which the step does not accept" in problems[0].message
    assert "spoken answers in 'es': no phrase for other" in problems[1].message
    assert "prompts/es/speech.yaml" in problems[1].message

    words.unlink()
    problems = problems_for(folders, base_flow())
    assert {p.step for p in problems} == {"csat", "nps", "resolved", "unresolved_reason"}
    assert all("there is no speech.yaml" in p.message for p in problems)


def test_language_menu_offers_only_the_flow_languages_and_comes_first(folders: tuple[Path, Path]) -> None:
    flow = base_flow()
    step(flow, "language")["options"] = {1: "en", 2: "fr"}
    [problem] = problems_for(folders, flow)
    assert (problem.step, problem.field) == ("language", "options.2")
    assert "offers 'fr', which is not among the flow's languages" in problem.message

    flow = base_flow()
    flow["steps"].append(flow["steps"].pop(0))  # the menu after the questions
    [problem] = problems_for(folders, flow)
    assert (problem.step, problem.message) == ("language", "the language menu must be the first question")


def test_sentiment_only_in_scoring_rules(folders: tuple[Path, Path]) -> None:
    flow = base_flow()
    step(flow, "unresolved_reason")["when"] = "resolved == no or sentiment < 0"
    [problem] = problems_for(folders, flow)
    assert (problem.step, problem.field) == ("unresolved_reason", "when")
    assert "sentiment is known only after the call" in problem.message

    flow = base_flow()
    flow["scoring"]["extreme_low"] = "sentiment < -1.5"
    [problem] = problems_for(folders, flow)
    assert problem.field == "scoring.extreme_low" and "the rule can never fire" in problem.message


def test_voice_comment_lengths_are_checked(folders: tuple[Path, Path]) -> None:
    flow = base_flow()
    step(flow, "comment")["min_length"] = 20
    step(flow, "comment")["max_length"] = 10
    [problem] = problems_for(folders, flow)
    assert (problem.step, problem.message) == ("comment", "min_length must be below max_length")
