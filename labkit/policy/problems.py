"""A problem found in a policy: what, how bad, and exactly where.

Used by :mod:`labkit.policy.validate`; a notebook can render a list of them as a table.

>>> print(Problem(severity="error", code="effect-invalid", message='must be "Allow" or "Deny"',
...               source="deny-regions.json", line=14, column=9, statement=1,
...               sid="DenyOutsideRegions", field="Effect"))
deny-regions.json:14:9: error: Statement[1] (Sid "DenyOutsideRegions") Effect: must be "Allow" or "Deny"
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PolicyValidationError", "Problem"]

@dataclass(frozen=True, kw_only=True)
class Problem:
    """One thing wrong with a policy, and where.

    ``severity`` is ``"error"`` (AWS refuses the policy, or the lab would misjudge it) or
    ``"warning"`` (AWS accepts it, but it probably does not do what was meant). ``line`` and
    ``column`` are 1-based positions in the text that was validated.
    """

    severity: str
    code: str
    message: str
    source: str = "<policy>"
    line: int = 1
    column: int = 1
    statement: int | None = None
    sid: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = []
        if self.statement is not None:
            where.append(f"Statement[{self.statement}]")
            if self.sid:
                where.append(f'(Sid "{self.sid}")')
        if self.field:
            where.append(f"{self.field}:")
        prefix = " ".join(where)
        return (f"{self.source}:{self.line}:{self.column}: {self.severity}: "
                f"{prefix + ' ' if prefix else ''}{self.message}")


class PolicyValidationError(ValueError):
    """A policy has errors; ``problems`` lists every one (warnings included)."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        errors = [p for p in self.problems if p.severity == "error"]
        lines = "\n".join(str(p) for p in errors)
        super().__init__(f"{len(errors)} error(s) in policy:\n{lines}")
