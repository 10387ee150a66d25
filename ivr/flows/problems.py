"""What is wrong with a flow or prompt file, said with the file, the step and the field."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FlowProblem:
    file: str
    message: str
    step: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = [self.file]
        if self.step is not None:
            where.append(f"step '{self.step}'")
        if self.field is not None:
            where.append(f"field '{self.field}'")
        return ": ".join(where) + ": " + self.message


class FlowError(Exception):
    def __init__(self, problems: list[FlowProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))
