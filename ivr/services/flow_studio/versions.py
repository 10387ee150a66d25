"""Writing flow versions: every publish, rollback and import goes through `publish_version`."""

from __future__ import annotations

from sqlalchemy import func, select

from ivr.extensions import db
from ivr.flows import CompiledFlow
from ivr.models import FlowAction, FlowAuditEntry, FlowRecord, FlowVersion
from ivr.services.policy import Principal


def publish_version(
    compiled: CompiledFlow,
    who: Principal,
    note: str | None,
    action: FlowAction,
    source: str,
) -> FlowVersion:
    """A new immutable version, made the flow's current one, with its audit entry. In the
    caller's transaction; the flow's row is locked so that two publishes number in turn."""
    record = db.session.scalars(
        select(FlowRecord).where(FlowRecord.key == compiled.id).with_for_update()
    ).one_or_none()
    latest = db.session.scalar(select(func.max(FlowVersion.version)).filter_by(flow_key=compiled.id))
    version = FlowVersion(
        flow_key=compiled.id,
        version=(latest or 0) + 1,
        content_hash=compiled.content_hash,
        definition=compiled.definition(),
        source=source,
        published_by=who.label,
        change_note=note,
    )
    db.session.add(version)
    db.session.flush()
    if record is None:
        db.session.add(FlowRecord(key=compiled.id, current_version_id=version.id))
    else:
        record.current_version_id = version.id
    audit(compiled.id, action, who, version.id, note)
    return version


def audit(
    flow_key: str, action: FlowAction, who: Principal, version_id: int | None, note: str | None
) -> None:
    db.session.add(
        FlowAuditEntry(
            flow_key=flow_key,
            action=action,
            version_id=version_id,
            user_id=who.user_id,
            actor=who.label,
            note=note,
        )
    )


def current_version(flow_key: str) -> FlowVersion | None:
    return db.session.scalar(
        select(FlowVersion)
        .join(FlowRecord, FlowRecord.current_version_id == FlowVersion.id)
        .where(FlowRecord.key == flow_key)
    )
