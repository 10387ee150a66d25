"""What the API answers when it will not do what was asked, and why (status and message)."""

from __future__ import annotations

from ivr.flows import CompiledFlow
from ivr.services.flow_versions import registry


class Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def flow_and_language(flow_id: str | None, language: str | None, default_flow: str) -> CompiledFlow:
    """The flow a request names (or the default), refusing an unknown flow or language."""
    compiled = registry().flows.get(flow_id or default_flow)
    if compiled is None:
        raise Refused(400, f"unknown flow {flow_id!r}; known: {', '.join(sorted(registry().flows))}")
    if language is not None and language not in compiled.flow.languages:
        raise Refused(
            400, f"flow {compiled.id!r} has no language {language!r}; it has {compiled.flow.languages}"
        )
    return compiled
