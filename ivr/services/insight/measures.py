"""What a dashboard counts over a set of scores, the shares that follow, and Wilson intervals.

Counts come from one SQL aggregate (columns() below, read back by counts_from()); everything
else here is arithmetic on those counts, so nothing is ever recounted in Python.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func

from ivr.models import Score

CSAT_POINTS = (1, 2, 3, 4, 5)
Z95 = 1.959963984540054  # the normal quantile of a two-sided 95% interval


def _count_when(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


@dataclass
class Counts:
    """Scores over one period and one slice (a team, a queue, an agent), as counts."""

    responses: int = 0
    csat: dict[int, int] = field(default_factory=lambda: dict.fromkeys(CSAT_POINTS, 0))
    bottom_box: int = 0
    top_box: int = 0
    promoters: int = 0
    passives: int = 0
    detractors: int = 0
    resolved: int = 0
    resolution_answers: int = 0
    effort_total: int = 0
    effort_answers: int = 0
    extreme_lows: int = 0
    extreme_highs: int = 0

    def add(self, other: Counts) -> None:
        for point in CSAT_POINTS:
            self.csat[point] += other.csat[point]
        for name in _SUMMED:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def csat_answers(self) -> int:
        return sum(self.csat.values())

    @property
    def nps_answers(self) -> int:
        return self.promoters + self.passives + self.detractors

    @property
    def bottom_box_share(self) -> float | None:
        return share(self.bottom_box, self.csat_answers)

    @property
    def top_box_share(self) -> float | None:
        return share(self.top_box, self.csat_answers)

    @property
    def nps(self) -> float | None:
        """Promoters minus detractors over NPS answers, from -100 to 100."""
        n = self.nps_answers
        return 100.0 * (self.promoters - self.detractors) / n if n else None

    @property
    def resolution_rate(self) -> float | None:
        return share(self.resolved, self.resolution_answers)

    @property
    def effort(self) -> float | None:
        """The mean effort answer (lower is easier)."""
        return self.effort_total / self.effort_answers if self.effort_answers else None

    @property
    def extreme_low_share(self) -> float | None:
        return share(self.extreme_lows, self.responses)


# The fields Counts.add sums one by one (the CSAT points are summed per point).
_SUMMED = tuple(f.name for f in fields(Counts) if f.name != "csat")


def share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def columns() -> list[Any]:
    """The aggregate columns counts_from() reads, in order (built once: expressions are
    immutable, and building them cost a dashboard more than some of its queries)."""
    return list(_COLUMNS)


def _columns() -> tuple[Any, ...]:
    return (
        func.count(),
        *(_count_when(Score.csat == point) for point in CSAT_POINTS),
        # The boxes and NPS categories scoring decided (it knows the flow's scale), not cut-offs again.
        _count_when(Score.csat_bottom_box.is_(True)),
        _count_when(Score.csat_top_box.is_(True)),
        _count_when(Score.nps_category == "promoter"),
        _count_when(Score.nps_category == "passive"),
        _count_when(Score.nps_category == "detractor"),
        _count_when(Score.resolved.is_(True)),
        func.count(Score.resolved),
        func.coalesce(func.sum(Score.ces), 0),
        func.count(Score.ces),
        _count_when(Score.extreme_low.is_(True)),
        _count_when(Score.extreme_high.is_(True)),
    )


_COLUMNS = _columns()
WIDTH = len(_COLUMNS)


def counts_from(values: Any) -> Counts:
    """Counts from a row of columns() (or of a rollup's sums), in that order."""
    v = [int(x) if x else 0 for x in values]
    return Counts(v[0], dict(zip(CSAT_POINTS, v[1:6], strict=True)), *v[6:17])


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


def wilson(successes: int, n: int, z: float = Z95) -> Interval | None:
    """The Wilson score interval of a share: honest for small n and for shares near 0 or 1
    (where the usual p ± z·se runs below 0 or above 1)."""
    if n <= 0:
        return None
    p = successes / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return Interval(max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class Period:
    """[start, end): the dashboard's period, and the one of the same length before it."""

    start: datetime
    end: datetime
    label: str

    @property
    def previous(self) -> Period:
        length = self.end - self.start
        return Period(self.start - length, self.start, "the period before")

    @property
    def days(self) -> float:
        return (self.end - self.start) / timedelta(days=1)


PERIOD_CHOICES = {"today": "Today", "7": "Last 7 days", "30": "Last 30 days", "90": "Last 90 days"}


def period_for(
    choice: str, now: datetime, first: datetime | None = None, last: datetime | None = None
) -> Period:
    """today (since midnight UTC), the last 7, 30 or 90 days, or custom [first, last)."""
    if choice == "today":
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        return Period(midnight, now, "Today")
    if choice == "custom" and first is not None and last is not None:
        return Period(first, last, "Custom")
    days = int(choice) if choice in PERIOD_CHOICES else 30
    return Period(now - timedelta(days=days), now, PERIOD_CHOICES[str(days)])
