"""Links to the app that go out in notifications (no request is around in a job)."""

from __future__ import annotations

from flask import current_app


def absolute(path: str) -> str:
    base = current_app.extensions["ivr.settings"].public_base_url or ""
    return f"{base}{path}"


def response_link(response_id: int) -> str:
    return absolute(f"/api/responses/{response_id}")


def task_link(task_id: int) -> str:
    return absolute(f"/api/callback-tasks/{task_id}")
