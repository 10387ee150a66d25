"""The front door's routing: which queue a dialled number reaches and how its agents are rung.

Kept in the database once published (edited at /routing, versions and audit like call flows);
callflows/routing/queues.yaml seeds it and is what `flask flows import`/`export` read and write.

A queue is an ordered list of agents rung one after another, with how its callers are invited
to the survey. This is not an ACD: it is what a demo, the tests and a small site need.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ivr.flows.compiled import CompiledFlow
from ivr.flows.problems import FlowError, FlowProblem
from ivr.flows.prompts import LanguageVoice, load_prompts
from ivr.flows.yaml_text import load_yaml

ROUTING_FILE = Path("routing") / "queues.yaml"
AgentAddress = Annotated[str, Field(pattern=r"^(client:[A-Za-z0-9_.@-]+|sip:\S+|\+[1-9][0-9]{6,14})$")]


class Invitation(StrEnum):
    opt_in = "opt_in"  # "press 1 to rate us after your call": silence is a no
    opt_out = "opt_out"  # "press 9 if you'd rather not": silence is a yes
    always = "always"  # announced, not asked
    none = "none"  # no survey


class Queue(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    agents: list[AgentAddress] = Field(min_length=1)
    invitation: Invitation = Invitation.opt_in
    flow: str | None = None
    language: str | None = None
    ring_seconds: int = Field(default=20, ge=5, le=120)
    # A caller who hung up before the survey (at the invitation, or right after the agent), or
    # broke off before the first answer, is sent the survey by text this many minutes later.
    sms_invitation: bool = False
    sms_delay_minutes: int = Field(default=5, ge=0, le=24 * 60)
    # The callers' IANA time zone: texts wait out QUIET_HOURS there.
    time_zone: str | None = None

    @model_validator(mode="after")
    def _known_zone(self) -> Queue:
        if self.time_zone is not None:
            try:
                ZoneInfo(self.time_zone)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(
                    f"unknown time zone {self.time_zone!r} (use e.g. America/New_York)"
                ) from None
        return self


class Routing(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    default_queue: str
    numbers: dict[str, str] = {}
    queues: dict[str, Queue] = Field(min_length=1)

    @model_validator(mode="after")
    def _known_queues(self) -> Routing:
        for name in [self.default_queue, *self.numbers.values()]:
            if name not in self.queues:
                raise ValueError(f"queue {name!r} is not defined under queues")
        return self

    def queue_for(self, dialled: str | None) -> tuple[str, Queue]:
        name = self.numbers.get(dialled or "", self.default_queue)
        return name, self.queues[name]


def parse_routing(text: str, name: str) -> tuple[Routing | None, list[FlowProblem]]:
    """The routing document in `text` and every problem in it, each with its field."""
    try:
        raw = load_yaml(text)
    except yaml.YAMLError as exc:
        return None, [FlowProblem(name, f"not valid YAML: {exc}")]
    try:
        routing = Routing.model_validate(raw)
    except ValidationError as exc:
        return None, [
            FlowProblem(
                name, error["msg"].removeprefix("Value error, "), field=".".join(map(str, error["loc"]))
            )
            for error in exc.errors()
        ]
    problems = []
    for queue_name, queue in routing.queues.items():
        seen: set[str] = set()
        for index, agent in enumerate(queue.agents):
            if agent in seen:
                problems.append(
                    FlowProblem(
                        name, f"agent {agent!r} is listed twice", field=f"queues.{queue_name}.agents.{index}"
                    )
                )
            seen.add(agent)
    return routing, problems


def check_routing(
    text: str, name: str, flows: dict[str, CompiledFlow], default_flow: str, texts: dict[str, dict[str, str]]
) -> tuple[Routing | None, list[FlowProblem]]:
    """Every problem of a routing document: its schema, then each queue against the flows
    (`flows`, e.g. the published ones) and the front door's prompts (`texts`, language -> key -> text)."""
    routing, problems = parse_routing(text, name)
    if routing is None:
        return None, problems
    for queue_name, queue in routing.queues.items():
        flow = flows.get(queue.flow or default_flow)
        if flow is None:
            problems.append(
                FlowProblem(name, f"unknown flow {queue.flow!r}", field=f"queues.{queue_name}.flow")
            )
            continue
        language = flow.language_or_default(queue.language)
        if queue.language and queue.language != language:
            problems.append(
                FlowProblem(
                    name,
                    f"flow {flow.id!r} has no language {queue.language!r}",
                    field=f"queues.{queue_name}.language",
                )
            )
        missing = [key for key in FRONT_DOOR_PROMPTS if key not in texts.get(language, {})]
        if missing:
            problems.append(
                FlowProblem(
                    name,
                    f"prompt(s) {', '.join(missing)} missing in language {language!r} (prompts/{language}/)",
                    field=f"queues.{queue_name}.language",
                )
            )
    return routing, problems


# What the front door says, from prompts/<lang>/front-door.yaml.
FRONT_DOOR_PROMPTS = (
    "front_door.greeting",
    "front_door.invite_opt_in",
    "front_door.invite_opt_out",
    "front_door.invite_always",
    "front_door.connecting",
    "front_door.no_agents",
)


@dataclass(frozen=True)
class RoutingFile:
    """callflows/routing/queues.yaml as read at start: it seeds the database's routing."""

    text: str
    routing: Routing
    source: str


@dataclass(frozen=True)
class FrontDoor:
    """What the front door says (prompts/<lang>/front-door.yaml) and the routing file, if any.
    The routing in force is the database's (ivr.services.conversation.routing_versions)."""

    seed: RoutingFile | None
    texts: dict[str, dict[str, str]]  # language -> prompt key -> text
    voices: dict[str, LanguageVoice]
    audio: dict[str, dict[str, str]]  # language -> prompt key -> "<file>?v=<hash>", as for flows


def read_routing_file(
    callflows_dir: Path, flows: dict[str, CompiledFlow], default_flow: str, texts: dict[str, dict[str, str]]
) -> RoutingFile | None:
    """The routing file checked against `flows` and the front door's prompts; None when there is
    none; FlowError with every error when it does not check."""
    path = callflows_dir / ROUTING_FILE
    if not path.exists():
        return None
    name = f"{callflows_dir.name}/{ROUTING_FILE}"
    text = path.read_text(encoding="utf-8")
    routing, problems = check_routing(text, name, flows, default_flow, texts)
    errors = [problem for problem in problems if problem.is_error]
    if routing is None or errors:
        raise FlowError(errors)
    return RoutingFile(text, routing, f"callflows/{ROUTING_FILE}")


def load_front_door(
    callflows_dir: Path, prompts_dir: Path, flows: dict[str, CompiledFlow], default_flow: str
) -> FrontDoor:
    catalog = load_prompts(prompts_dir)
    seed = read_routing_file(callflows_dir, flows, default_flow, catalog.texts)
    return FrontDoor(seed, catalog.texts, catalog.voices, catalog.audio)
