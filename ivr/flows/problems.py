"""What is wrong with a flow or prompt file, said with the file, the step and the field."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class FlowProblem:
    file: str
    message: str
    step: str | None = None
    field: str | None = None
    # A warning is shown but does not stop a load or a publish.
    severity: Literal["error", "warning"] = "error"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def __str__(self) -> str:
        where = [self.file]
        if self.step is not None:
            where.append(f"step '{self.step}'")
        if self.field is not None:
            where.append(f"field '{self.field}'")
        return ": ".join(where) + ": " + ("warning: " if not self.is_error else "") + self.message


class FlowError(Exception):
    def __init__(self, problems: list[FlowProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))
