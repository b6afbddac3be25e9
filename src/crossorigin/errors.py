"""The one exception a policy raises: every configuration problem at once, each with its fix."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One configuration problem: which option, the offending value, what is wrong, the fix."""

    option: str
    value: object
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.option}={self.value!r}: {self.message}. Fix: {self.fix}."


class ConfigError(ValueError):
    """A CORS configuration is invalid, insecure or contradictory.

    ``problems`` lists every problem found, not just the first, so one run of the program
    shows everything that needs fixing.
    """

    problems: tuple[Problem, ...]

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        heading = (
            "invalid CORS configuration"
            if count == 1
            else (f"invalid CORS configuration ({count} problems)")
        )
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"{heading}:\n{lines}")
