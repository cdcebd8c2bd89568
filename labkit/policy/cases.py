"""Policy simulation cases in the ``../shared/policy-cases/SCHEMA.md`` format.

Introduced in ``notebooks/02-guardrails.ipynb``. One case is a request plus every policy AWS
would weigh for it; a file of cases is JSON Lines.

>>> case = case_from_dict({"name": "c1", "request": {"principal": "arn:aws:iam::111111111111:user/a",
...     "action": "s3:ListAllMyBuckets", "resource": "*"}, "identity_policies": [],
...     "expected": "ImplicitlyDenied"})
>>> case.name, case.request.resource_account, case.policies.scps
('c1', '111111111111', None)
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

from .model import RESULTS, Level, PolicySet, Request
from .parse import PolicyParseError, parse_policy

__all__ = ["Case", "CaseError", "case_from_dict", "load_cases", "read_case_lines"]


class CaseError(ValueError):
    """A case that does not follow SCHEMA.md; the message names the case and the field."""


@dataclass(frozen=True, kw_only=True)
class Case:
    """One simulation case: ``request``, ``policies`` and (optionally) ``expected``."""

    name: str
    request: Request
    policies: PolicySet
    expected: str | None = None


def _levels(value: Any, kind: str, where: str) -> tuple[Level, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(level, list) for level in value):
        raise CaseError(f"{where}: {kind}s must be null or a list of levels (lists of policies)")
    count = len(value)
    levels = []
    for i, docs in enumerate(value):
        label = "Root" if i == 0 else ("Account" if i == count - 1 else f"OU level {i}")
        policies = tuple(parse_policy(doc, name=f"{kind.upper()} {j + 1} at {label}", kind=kind)
                         for j, doc in enumerate(docs))
        levels.append(Level(label=label, policies=policies))
    return tuple(levels)


def case_from_dict(data: Any, *, where: str = "case") -> Case:
    """Build a :class:`Case`; raises :class:`CaseError` naming the problem."""
    if not isinstance(data, dict):
        raise CaseError(f"{where}: a case is a JSON object, got {type(data).__name__}")
    name = data.get("name") or where
    where = f"{where} {name!r}" if data.get("name") else where
    raw = data.get("request")
    if not isinstance(raw, dict):
        raise CaseError(f"{where}: request must be an object")
    missing = [f for f in ("principal", "action") if not isinstance(raw.get(f), str)]
    if missing:
        raise CaseError(f"{where}: request.{missing[0]} must be a string")
    context = raw.get("context") or {}
    if not isinstance(context, dict):
        raise CaseError(f"{where}: request.context must be an object")
    expected = data.get("expected")
    if expected is not None and expected not in RESULTS:
        raise CaseError(f"{where}: expected must be one of {RESULTS}, got {expected!r}")
    try:
        request = Request(principal=raw["principal"], action=raw["action"],
                          resource=raw.get("resource") or "*",
                          resource_account=raw.get("resource_account"), context=context)
        identity = data.get("identity_policies") or []
        if not isinstance(identity, list):
            raise CaseError(f"{where}: identity_policies must be a list")
        boundary = data.get("permissions_boundary")
        resource = data.get("resource_policy")
        policies = PolicySet(
            identity=tuple(parse_policy(doc, name=f"identity policy {i + 1}") for i, doc in enumerate(identity)),
            boundary=None if boundary is None else parse_policy(boundary, name="permissions boundary", kind="boundary"),
            scps=_levels(data.get("scps"), "scp", where),
            rcps=_levels(data.get("rcps"), "rcp", where),
            resource_policy=None if resource is None else parse_policy(resource, name="resource policy", kind="resource"),
        )
    except PolicyParseError as exc:
        raise CaseError(f"{where}: {exc}") from None
    except ValueError as exc:
        if isinstance(exc, CaseError):
            raise
        raise CaseError(f"{where}: {exc}") from None
    return Case(name=name, request=request, policies=policies, expected=expected)


def read_case_lines(lines: Iterable[str], *, source: str = "<cases>") -> Iterator[tuple[int, dict | None, str | None]]:
    """``(line number, decoded object or None, error or None)`` for each non-blank line."""
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line), None
        except json.JSONDecodeError as exc:
            yield number, None, f"{source} line {number} column {exc.colno}: invalid JSON: {exc.msg}"


def load_cases(path: str | Path) -> list[Case]:
    """Every case in a ``.jsonl`` file; the first bad line raises :class:`CaseError`."""
    path = Path(path)
    out = []
    with path.open(encoding="utf-8") as handle:
        for number, data, error in read_case_lines(handle, source=str(path)):
            if error:
                raise CaseError(error)
            out.append(case_from_dict(data, where=f"{path} line {number}"))
    return out
