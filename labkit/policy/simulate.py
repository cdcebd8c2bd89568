"""``simulate``: one decision per case, as JSON Lines, in order; a bad case gets its error.

Introduced in ``notebooks/02-guardrails.ipynb``; case format in ``docs/policy-case-format.md``.

>>> import json
>>> line = json.dumps({"name": "c", "request": {"principal": "arn:aws:iam::111111111111:user/a",
...                    "action": "s3:ListAllMyBuckets"}, "identity_policies": []})
>>> list(simulate_lines([line, "{not json"]))  # doctest: +NORMALIZE_WHITESPACE
[{'name': 'c', 'decision': 'ImplicitlyDenied', 'blocked_by': ['identity'], 'error': None},
 {'name': None, 'decision': None, 'blocked_by': [], 'error': '<cases> line 2 column 2: invalid JSON: Expecting property name enclosed in double quotes'}]
"""
from __future__ import annotations

import gc
import json
from typing import IO, Iterable, Iterator

from .cases import CaseError, case_from_line
from .evaluate import evaluate

__all__ = ["simulate_cases", "simulate_lines", "simulate_stream"]


def simulate_lines(lines: Iterable[str], *, source: str = "<cases>") -> Iterator[dict]:
    """Evaluate each case line; yield ``{"name", "decision", "blocked_by", "error"}``."""
    for row, _expected, _where in simulate_cases(lines, source=source):
        yield row


def simulate_cases(lines: Iterable[str], *, source: str = "<cases>") -> Iterator[tuple[dict, str | None, str]]:
    """Like :func:`simulate_lines`, with each case's ``expected`` result (None when the
    case gives none, or cannot be read) and where it is (``FILE line N``).

    While it runs, the collector's youngest-generation threshold is raised to
    ``_GC_THRESHOLD`` (as mypy does): a first pass builds tens of thousands of long-lived
    objects (parsed policies, kept in caches), and collecting them young again and again
    cost about a tenth of it. The old thresholds come back when the generator finishes or
    is closed; nothing else about the collector changes.
    """
    old = gc.get_threshold()
    if old[0] and old[0] < _GC_THRESHOLD:
        gc.set_threshold(_GC_THRESHOLD, *old[1:])
    try:
        yield from _simulate(lines, source)
    finally:
        if gc.get_threshold()[0] == _GC_THRESHOLD:
            gc.set_threshold(*old)


_GC_THRESHOLD = 100_000


def _simulate(lines: Iterable[str], source: str) -> Iterator[tuple[dict, str | None, str]]:
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{source} line {number}"
        try:
            case = case_from_line(line, where=where)
        except CaseError as exc:
            yield ({"name": _name_of(line), "decision": None, "blocked_by": [], "error": str(exc)},
                   None, where)
            continue
        decision = evaluate(case.request, case.policies)
        yield ({"name": case.name, "decision": decision.result,
                "blocked_by": list(decision.blocked_by), "error": None}, case.expected, where)


def _name_of(line: str) -> str | None:
    try:
        data = json.loads(line)
    except ValueError:
        return None
    return data.get("name") if isinstance(data, dict) else None


def simulate_stream(source: IO[str], out: IO[str], *, label: str = "<cases>") -> int:
    """Write one JSON line per case to ``out``; return how many cases had an error."""
    errors = 0
    dumps = json.dumps
    for row in simulate_lines(source, source=label):
        errors += row["error"] is not None
        out.write(dumps(row) + "\n")
    return errors
