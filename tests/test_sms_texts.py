"""SMS texts with the prompts: loaded per language, checked per flow, segment counts warned about;
text replies matched leniently with the language's words."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
import yaml

from ivr.flows import load_catalog
from ivr.flows.sms import match_reply, segments
from tests.helpers import problems_for

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    flows = tmp_path / "callflows"
    flows.mkdir()
    shutil.copytree(ROOT / "prompts", tmp_path / "prompts")
    return flows, tmp_path / "prompts"


def base_flow() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((ROOT / "callflows" / "post-call-csat.yaml").read_text())  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("a" * 160, 1),  # GSM-7: 160 in one segment
        ("a" * 161, 2),  # then 153 a segment
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("[" * 80, 1),  # GSM-7's extension table: two septets each
        ("[" * 81, 2),
        ("¿Qué?" + "a" * 150, 1),  # ¿ and é are GSM-7
        ("ó" * 70, 1),  # ó is not: UCS-2, 70 in one segment
        ("ó" * 71, 2),  # then 67 a segment
        ("👍" * 35, 1),  # an emoji is two UTF-16 code units
        ("👍" * 36, 2),
    ],
)
def test_segments(text: str, count: int) -> None:
    assert segments(text) == count


def test_the_loader_warns_about_a_text_longer_than_one_segment(
    folders: tuple[Path, Path], caplog: pytest.LogCaptureFixture
) -> None:
    flows, prompts = folders
    (flows / "post-call-csat.yaml").write_text(yaml.safe_dump(base_flow()))
    sms = prompts / "en" / "sms.yaml"
    texts = yaml.safe_load(sms.read_text())
    texts["goodbye"] = "Thank you! 🙏 " + "We value your feedback. " * 3
    sms.write_text(yaml.safe_dump(texts, allow_unicode=True))
    with caplog.at_level(logging.WARNING, logger="ivr.flows.sms"):
        compiled = load_catalog(flows, prompts)["post-call-csat"]
    assert compiled.sms_text("en", "goodbye").startswith("Thank you! 🙏")
    [warning] = [r.getMessage() for r in caplog.records]
    assert warning == "prompts/en/sms.yaml: 'goodbye' needs 2 SMS segments (84 characters)"


def test_a_language_with_sms_texts_must_have_every_prompt_the_flow_texts(folders: tuple[Path, Path]) -> None:
    _, prompts = folders
    sms = prompts / "es" / "sms.yaml"
    texts = yaml.safe_load(sms.read_text())
    del texts["nps.question"], texts["sms.help"]
    sms.write_text(yaml.safe_dump(texts, allow_unicode=True))
    problems = problems_for(folders, base_flow())
    assert sorted(p.message for p in problems) == [
        "no SMS text for 'nps.question' in prompts/es/sms.yaml",
        "no SMS text for 'sms.help' in prompts/es/sms.yaml",
    ]


def test_a_language_without_sms_texts_is_not_offered_by_text(folders: tuple[Path, Path]) -> None:
    flows, prompts = folders
    (prompts / "es" / "sms.yaml").unlink()
    (flows / "post-call-csat.yaml").write_text(yaml.safe_dump(base_flow()))
    compiled = load_catalog(flows, prompts)["post-call-csat"]
    assert list(compiled.sms) == ["en"]
    assert compiled.texting_language("es") == "en"


@pytest.mark.parametrize(
    ("step", "language", "reply", "meant"),
    [
        ("csat", "en", "5", ("5", 5)),
        ("csat", "en", " 5 - great", ("5", 5)),
        ("csat", "en", "five", ("5", 5)),
        ("csat", "en", "Very satisfied!", ("5", 5)),
        ("csat", "en", "not satisfied", ("2", 2)),
        ("csat", "en", "6", None),
        ("csat", "en", "four or five", None),
        ("csat", "en", "which agent?", None),
        ("nps", "en", "10/10", ("10", 10)),
        ("nps", "en", "zero", ("0", 0)),
        ("resolved", "en", "YES", ("yes", None)),
        ("resolved", "en", "1", ("yes", None)),
        ("resolved", "en", "nope", ("no", None)),
        ("resolved", "en", "yes no", None),
        ("resolved", "es", "si", ("yes", None)),
        ("resolved", "es", "Sí, claro", ("yes", None)),
        ("unresolved_reason", "en", "3", ("transferred_too_often", None)),
        ("unresolved_reason", "en", "still waiting", ("still_waiting", None)),
        ("csat", "es", "cinco", ("5", 5)),
    ],
)
def test_replies_are_matched_leniently(
    step: str, language: str, reply: str, meant: tuple[str, int | None] | None
) -> None:
    compiled = load_catalog(ROOT / "callflows", ROOT / "prompts")["post-call-csat"]
    question = compiled.question(step)
    assert question is not None
    assert match_reply(question, compiled.reply_words[language], reply) == meant
