"""Editing the front door's routing: its draft (YAML, checked as it is typed against the
published flows and the front door's prompts), published as an immutable version when it has no
errors, rolled back by republishing an earlier version, compared version to version; every save,
publish and rollback in the flows' audit log under ROUTING_AUDIT_KEY."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

import yaml
from sqlalchemy import func, select

from ivr.extensions import db
from ivr.flows import CompiledFlow, FlowProblem
from ivr.flows.routing import ROUTING_FILE, Queue, Routing, check_routing
from ivr.flows.yaml_text import dump_yaml, load_yaml
from ivr.models import (
    FRONT_DOOR,
    ROUTING_AUDIT_KEY,
    FlowAction,
    FlowAuditEntry,
    FlowRecord,
    RoutingRecord,
    RoutingVersion,
    utcnow,
)
from ivr.services.conversation.flow_versions import registry as flow_registry
from ivr.services.conversation.front_door import front_door
from ivr.services.conversation.routing_versions import content_hash
from ivr.services.conversation.routing_versions import registry as routing_registry
from ivr.services.errors import Conflict, Invalid, NotFound
from ivr.services.policy import Principal
from ivr.settings import settings

MAX_YAML = 100_000
MAX_NOTE = 2000
DRAFT_NAME = f"{ROUTING_FILE.as_posix()} (draft)"


@dataclass(frozen=True)
class QueueView:
    """A queue as the pages show it: the numbers that reach it, and whether it is the default."""

    name: str
    queue: Queue
    numbers: list[str]
    default: bool
    flow: str


def queues(routing: Routing) -> list[QueueView]:
    reached: dict[str, list[str]] = {}
    for number, name in routing.numbers.items():
        reached.setdefault(name, []).append(number)
    default_flow, default = settings().default_flow, routing.default_queue
    return [
        QueueView(name, queue, reached.get(name, []), name == default, queue.flow or default_flow)
        for name, queue in routing.queues.items()
    ]


@dataclass
class RoutingDraft:
    yaml_text: str
    base: RoutingVersion
    saved: bool
    routing: Routing | None = None
    problems: list[FlowProblem] = field(default_factory=list)

    @property
    def errors(self) -> list[FlowProblem]:
        return [problem for problem in self.problems if problem.is_error]

    def queues(self) -> list[QueueView]:
        return queues(self.routing) if self.routing is not None else []

    def problems_at(self, prefix: str) -> list[FlowProblem]:
        """The problems of one field or of everything under it (e.g. "queues.support")."""
        return [
            p for p in self.problems if p.field and (p.field == prefix or p.field.startswith(prefix + "."))
        ]


# --- reading


def record() -> RoutingRecord:
    """The routing's row, the file's routing published first if the database has none yet."""
    if db.session.scalar(select(RoutingRecord.id).where(RoutingRecord.key == FRONT_DOOR)) is None:
        if routing_registry().current() is None:
            raise NotFound(
                "there is no routing yet: add callflows/routing/queues.yaml and run flask flows import"
            )
        db.session.commit()
    return db.session.scalars(select(RoutingRecord).where(RoutingRecord.key == FRONT_DOOR)).one()


def current() -> RoutingVersion:
    return db.session.get_one(RoutingVersion, record().current_version_id)


def routing_of(row: RoutingVersion) -> Routing:
    return routing_registry().for_version(row.id)


def versions() -> list[RoutingVersion]:
    record()
    return list(db.session.scalars(select(RoutingVersion).order_by(RoutingVersion.version.desc())))


def version(number: int) -> RoutingVersion:
    found = db.session.scalar(select(RoutingVersion).filter_by(version=number))
    if found is None:
        raise NotFound(f"the routing has no version {number}")
    return found


def audit_log() -> list[FlowAuditEntry]:
    return list(
        db.session.scalars(
            select(FlowAuditEntry).filter_by(flow_key=ROUTING_AUDIT_KEY).order_by(FlowAuditEntry.id.desc())
        )
    )


def draft() -> RoutingDraft:
    """The saved draft, or a new one from the current version (not saved until edited)."""
    row = record()
    if row.draft_yaml is not None and row.draft_base_version_id is not None:
        base = db.session.get_one(RoutingVersion, row.draft_base_version_id)
        return checked(row.draft_yaml, base, saved=True)
    base = db.session.get_one(RoutingVersion, row.current_version_id)
    return checked(base.yaml_text, base, saved=False)


def published_flows() -> dict[str, CompiledFlow]:
    """Every flow a routing may name: each one's current version, or its file when the database
    does not have it yet (published on its first call). Reads only."""
    flows = flow_registry()
    found = dict(flows.flows)
    for key, version_id in db.session.execute(select(FlowRecord.key, FlowRecord.current_version_id)):
        found[key] = flows.for_version(version_id)
    return found


def check(text: str, name: str, flows: dict[str, CompiledFlow]) -> tuple[Routing | None, list[FlowProblem]]:
    """Every problem of a routing text against `flows` and the front door's prompts."""
    if len(text) > MAX_YAML:
        return None, [FlowProblem(name, f"the document is longer than {MAX_YAML} characters")]
    return check_routing(text, name, flows, settings().default_flow, front_door().texts)


def checked(yaml_text: str, base: RoutingVersion, saved: bool = False) -> RoutingDraft:
    """The draft with every problem (errors and warnings, each with its field); saves nothing."""
    routing, problems = check(yaml_text, DRAFT_NAME, published_flows())
    return RoutingDraft(yaml_text, base, saved, routing, problems)


# --- writing


def audit(action: FlowAction, who: Principal, version_id: int | None, note: str | None) -> None:
    db.session.add(
        FlowAuditEntry(
            flow_key=ROUTING_AUDIT_KEY,
            action=action,
            routing_version_id=version_id,
            user_id=who.user_id,
            actor=who.label,
            note=note,
        )
    )


def publish_version(
    text: str, routing: Routing, who: Principal, note: str | None, action: FlowAction, source: str
) -> RoutingVersion:
    """A new immutable version made the current one, with its audit entry, in the caller's
    transaction; the routing's row is locked so that two publishes number in turn."""
    row = db.session.scalars(
        select(RoutingRecord).where(RoutingRecord.key == FRONT_DOOR).with_for_update()
    ).one_or_none()
    latest = db.session.scalar(select(func.max(RoutingVersion.version)))
    published = RoutingVersion(
        version=(latest or 0) + 1,
        content_hash=content_hash(text),
        yaml_text=text,
        document=routing.model_dump(mode="json"),
        source=source,
        published_by=who.label,
        change_note=note,
    )
    db.session.add(published)
    db.session.flush()
    if row is None:
        db.session.add(RoutingRecord(key=FRONT_DOOR, current_version_id=published.id))
    else:
        row.current_version_id = published.id
    audit(action, who, published.id, note)
    return published


def save_draft(yaml_text: str, who: Principal) -> RoutingDraft:
    """Save the text, problems or not: only publishing needs it whole."""
    row = record()
    base = draft().base
    text = yaml_text.replace("\r\n", "\n")
    if len(text) > MAX_YAML:
        raise Invalid(f"the document is longer than {MAX_YAML} characters", "document")
    row.draft_yaml = text
    row.draft_base_version_id = base.id
    row.draft_saved_by = who.label
    row.draft_saved_at = utcnow()
    audit(FlowAction.save, who, None, None)
    db.session.commit()
    return checked(text, base, saved=True)


def _clear_draft(row: RoutingRecord) -> None:
    row.draft_yaml = row.draft_base_version_id = None
    row.draft_saved_by = row.draft_saved_at = None


def discard_draft(who: Principal) -> None:
    row = record()
    if row.draft_yaml is None:
        return
    _clear_draft(row)
    audit(FlowAction.discard, who, None, None)
    db.session.commit()


def _note(note: str) -> str:
    note = note.strip()
    if not note:
        raise Invalid("say what changed and why in the change note", "note")
    if len(note) > MAX_NOTE:
        raise Invalid(f"the change note is longer than {MAX_NOTE} characters", "note")
    return note


def publish(note: str, who: Principal) -> RoutingVersion:
    """The saved draft as the new current routing; refused while it has errors (warnings are
    allowed) or when it changes nothing. The next call to the front door follows it."""
    note = _note(note)
    current_draft = draft()
    if not current_draft.saved:
        raise Conflict("there is no saved draft to publish")
    if current_draft.errors or current_draft.routing is None:
        raise Conflict(f"the draft has {len(current_draft.errors)} error(s): fix them first", "document")
    row = record()
    now = db.session.get_one(RoutingVersion, row.current_version_id)
    if content_hash(current_draft.yaml_text) == now.content_hash:
        raise Conflict("the draft is the same as the published routing: nothing to publish")
    published = publish_version(
        current_draft.yaml_text, current_draft.routing, who, note, FlowAction.publish, "flow studio"
    )
    _clear_draft(row)
    db.session.commit()
    return published


def rollback(number: int, note: str, who: Principal) -> RoutingVersion:
    """Republish version `number` as the newest; refused when the flows it names are gone."""
    old = version(number)
    row = record()
    if old.id == row.current_version_id:
        raise Conflict(f"version {number} is already the published one")
    routing, problems = check(old.yaml_text, f"routing version {number}", published_flows())
    errors = [problem for problem in problems if problem.is_error]
    if routing is None or errors:
        raise Conflict(f"version {number} no longer checks: {errors[0] if errors else 'unreadable'}")
    text = note.strip()[:MAX_NOTE] or f"rolled back to version {number}"
    published = publish_version(
        old.yaml_text, routing, who, text, FlowAction.rollback, f"rollback to version {number}"
    )
    db.session.commit()
    return published


def import_text(text: str, routing: Routing, who: Principal, source: str) -> tuple[int | None, str]:
    """Publish a routing file's text unless it is the current one (in the caller's transaction)."""
    row = db.session.scalar(select(RoutingRecord).where(RoutingRecord.key == FRONT_DOOR))
    if row is not None:
        now = db.session.get_one(RoutingVersion, row.current_version_id)
        if now.content_hash == content_hash(text):
            return None, f"unchanged (version {now.version})"
    published = publish_version(text, routing, who, f"imported from {source}", FlowAction.imported, source)
    return published.version, f"published as version {published.version}"


# --- one queue as a form

QUEUE_FIELDS = (
    "agents",
    "invitation",
    "flow",
    "language",
    "ring_seconds",
    "sms_invitation",
    "sms_delay_minutes",
    "time_zone",
)


@dataclass(frozen=True)
class QueueChange:
    """A queue's fields as a form posts them (None: the default), the numbers that reach it, and
    whether other numbers come to it too."""

    agents: list[str]
    numbers: list[str]
    values: dict[str, object]  # invitation, flow, language, ring_seconds, sms_*, time_zone
    default: bool


def queue_document(text: str, name: str) -> dict[str, object] | None:
    """The queue's mapping as the draft's YAML has it; None when the YAML has no such queue."""
    document = document_of(text)
    queue = (document or {}).get("queues", {}).get(name) if document else None
    return dict(queue) if isinstance(queue, dict) else None


def numbers_of(text: str, name: str) -> list[str]:
    document = document_of(text) or {}
    numbers = document.get("numbers")
    return [str(n) for n, q in numbers.items() if q == name] if isinstance(numbers, dict) else []


def document_of(text: str) -> dict[str, Any] | None:
    """The draft's YAML as a mapping with its queues; None when it does not read as one."""
    try:
        document = load_yaml(text)
    except yaml.YAMLError:
        return None
    if not isinstance(document, dict) or not isinstance(document.get("queues"), dict):
        return None
    return document


def with_queue(text: str, name: str, change: QueueChange) -> str:
    """The draft's YAML with the queue changed as posted (rewritten, so without its comments).
    Invalid when the YAML does not read as a routing or has no such queue."""
    document = document_of(text)
    if document is None or not isinstance(document["queues"].get(name), dict):
        raise Invalid(f"the draft has no queue {name!r} to change: fix the YAML first")
    queue = dict(document["queues"][name])
    queue["agents"] = change.agents
    for key, value in change.values.items():
        if value is None:
            queue.pop(key, None)
        else:
            queue[key] = value
    document["queues"][name] = {key: queue[key] for key in (*QUEUE_FIELDS, *queue) if key in queue}
    numbers = document.get("numbers")
    numbers = numbers if isinstance(numbers, dict) else {}
    kept = {n: q for n, q in numbers.items() if q != name and n not in change.numbers}
    document["numbers"] = kept | {number: name for number in change.numbers}
    if not document["numbers"]:
        del document["numbers"]
    if change.default:
        document["default_queue"] = name
    order = ("default_queue", "numbers", "queues")
    return dump_yaml({key: document[key] for key in (*order, *document) if key in document})


def diff(before: int, after: int) -> list[str]:
    """The unified diff of two versions' YAML."""
    return list(
        difflib.unified_diff(
            version(before).yaml_text.splitlines(),
            version(after).yaml_text.splitlines(),
            f"version {before}",
            f"version {after}",
            lineterm="",
        )
    )
