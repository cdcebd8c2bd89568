"""Policy simulation cases in the ``docs/policy-case-format.md`` format.

Introduced in ``notebooks/02-guardrails.ipynb``. One case is a request plus every policy AWS
would weigh for it; a file of cases is JSON Lines. Beyond the shared format, a case may carry
``session_policies`` (a list of policy documents passed when the session was made; the
engine's own rule cases use it), read by the general path.

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
from .case_sections import section_from_text
from .parse import PolicyParseError, parse_policy

__all__ = ["Case", "CaseError", "case_from_dict", "case_from_line", "load_cases", "read_case_lines"]


class CaseError(ValueError):
    """A case that does not follow the case format; the message names the case and the field."""


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


def _identity(value: Any, where: str) -> tuple:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise CaseError(f"{where}: identity_policies must be a list")
    return tuple(parse_policy(doc, name=f"identity policy {i + 1}") for i, doc in enumerate(value))


def _sessions(value: Any, where: str) -> tuple | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise CaseError(f"{where}: session_policies must be null or a list of policies")
    return tuple(parse_policy(doc, name=f"session policy {i + 1}", kind="session") for i, doc in enumerate(value))


def _one(name: str, kind: str):
    def build(value: Any, where: str):
        return None if value is None else parse_policy(value, name=name, kind=kind)
    return build


# case field -> (builder of the engine's value, PolicySet field)
_SECTIONS = {
    "identity_policies": _identity,
    "permissions_boundary": _one("permissions boundary", "boundary"),
    "scps": lambda value, where: _levels(value, "scp", where),
    "rcps": lambda value, where: _levels(value, "rcp", where),
    "resource_policy": _one("resource policy", "resource"),
}
_FIELDS = {"identity_policies": "identity", "permissions_boundary": "boundary", "scps": "scps",
           "rcps": "rcps", "resource_policy": "resource_policy"}


def _head(data: dict, where: str) -> tuple[str, str, Request, str | None]:
    """Name, location, request and expected result of a case (everything but its policies)."""
    name = data.get("name")
    where = f"{where} {name!r}" if name else where
    raw = data.get("request")
    if not isinstance(raw, dict):
        raise CaseError(f"{where}: request must be an object")
    for field in ("principal", "action"):
        if not isinstance(raw.get(field), str):
            raise CaseError(f"{where}: request.{field} must be a string")
    context = raw.get("context") or {}
    if not isinstance(context, dict):
        raise CaseError(f"{where}: request.context must be an object")
    expected = data.get("expected")
    if expected is not None and expected not in RESULTS:
        raise CaseError(f"{where}: expected must be one of {RESULTS}, got {expected!r}")
    try:
        request = Request._read(principal=raw["principal"], action=raw["action"],
                                resource=raw.get("resource") or "*",
                                resource_account=raw.get("resource_account"), context=context)
    except ValueError as exc:
        raise CaseError(f"{where}: {exc}") from None
    return name or where, where, request, expected


def _policy_set(sections: dict, where: str, session_policies: tuple | None = None) -> PolicySet:
    try:
        return PolicySet(identity=sections["identity_policies"], boundary=sections["permissions_boundary"],
                         scps=sections["scps"], rcps=sections["rcps"],
                         resource_policy=sections["resource_policy"], session_policies=session_policies)
    except ValueError as exc:
        raise CaseError(f"{where}: {exc}") from None


def case_from_dict(data: Any, *, where: str = "case") -> Case:
    """Build a :class:`Case`; raises :class:`CaseError` naming the problem."""
    if not isinstance(data, dict):
        raise CaseError(f"{where}: a case is a JSON object, got {type(data).__name__}")
    name, where, request, expected = _head(data, where)
    try:
        sections = {field: build(data.get(field), where) for field, build in _SECTIONS.items()}
        session_policies = _sessions(data.get("session_policies"), where)
    except PolicyParseError as exc:
        raise CaseError(f"{where}: {exc}") from None
    return Case(name=name, request=request, policies=_policy_set(sections, where, session_policies),
                expected=expected)


_TOP_KEYS = tuple(f'"{field}":' for field in ("name", "request", "identity_policies", "permissions_boundary",
                                                "scps", "rcps", "resource_policy", "expected"))
_SECTION_CACHE: dict[str, dict[str, Any]] = {field: {} for field in _SECTIONS}
_NO_SECTIONS = {field: build(None, "") for field, build in _SECTIONS.items()}
_CACHE_LIMIT = 20000


def case_from_line(line: str, *, where: str = "case") -> Case:
    """Build a :class:`Case` from one JSON line, parsing each distinct policy section once.

    The line is cut where each case-format key (``"scps":`` ...) first appears; each
    policy section's text keys a cache, so cases that share SCP paths or policies skip both
    JSON decoding and parsing. A piece is only ever cached after it decoded as exactly one
    JSON value, and a cut in the wrong place (inside a nested value, before an unknown key,
    with unusual spacing) leaves a piece that cannot: the line is then decoded whole.
    A new section is split into its policies' texts as it is decoded (:mod:`.case_sections`),
    so a policy shared by many sections is parsed once, keyed by its text.
    Raises :class:`CaseError` for a case that does not follow the case format.
    """
    spans = _spans_in_order(line) or _spans(line)
    if spans is None or '"session_policies":' in line:  # not a case-format section: decode whole
        return _from_full_line(line, where)
    try:
        head = {f: _small_json(spans[f]) for f in ("name", "request", "expected") if f in spans}
    except json.JSONDecodeError:
        return _from_full_line(line, where)
    base = where
    name, where, request, expected = _head(head, where)
    sections = dict(_NO_SECTIONS)
    try:
        for field, cache in _SECTION_CACHE.items():
            text = spans.get(field)
            if text is None or text == "null":
                continue
            value = cache.get(text)
            if value is None:
                value = section_from_text(field, text)
                if value is None:  # not the usual shape: decode whole, for the builder's message
                    value = _SECTIONS[field](json.loads(text), where)
                if len(cache) > _CACHE_LIMIT:
                    cache.clear()
                cache[text] = value
            sections[field] = value
    except json.JSONDecodeError:
        return _from_full_line(line, base)
    except PolicyParseError as exc:
        raise CaseError(f"{where}: {exc}") from None
    # the sections are the parser's values (tuples of Policy, of Level, or None): no re-checks
    case = object.__new__(Case)  # Case(...) without a frozen dataclass's per-field setattr
    policies = PolicySet._parsed(identity=sections["identity_policies"], boundary=sections["permissions_boundary"],
                                 scps=sections["scps"], rcps=sections["rcps"],
                                 resource_policy=sections["resource_policy"])
    object.__setattr__(case, "__dict__", {"name": name, "request": request, "policies": policies,
                                          "expected": expected})
    return case


def _spans(line: str) -> dict[str, str] | None:
    """The text of each top-level case-format field, in any order; None if the cuts fail."""
    cuts = []
    start = 0
    for key in _TOP_KEYS:  # keys usually come in the case format's order: scan the line once
        at = line.find(key, start)
        if at < 0 and start:
            at = line.find(key)
        if at >= 0:  # a nested key of the same name cuts inside a value: caught below
            start = at + len(key)
            cuts.append((at, start, key[1:-2]))
    if not cuts:
        return None
    cuts.sort()
    end = line.rfind("}")
    if line[:cuts[0][0]].strip() != "{" or line[end + 1:].strip():
        return None
    spans = {}
    last = len(cuts) - 1
    for i, (_at, after, field) in enumerate(cuts):
        if i < last:
            text = line[after:cuts[i + 1][0]].rstrip()
            if not text.endswith(","):
                return None
            spans[field] = text[:-1].strip()
        else:
            spans[field] = line[after:end].strip()
    return spans


_ORDER = tuple((key, len(key), key[1:-2]) for key in _TOP_KEYS)
_raw_decode = json.JSONDecoder().raw_decode


def _spans_in_order(line: str) -> dict[str, str] | None:
    """:func:`_spans` for the usual line: every key once, in the case format's order, compact
    (``{"name":...,"request":...,...}``); None for anything else."""
    last = len(line) - 1
    while last > 0 and line[last] in "\n\r":  # lines read from a file keep their ending
        last -= 1
    if line[0] != "{" or line[last] != "}":
        return None
    find = line.find
    spans = {}
    start, field = 0, None
    for key, size, name in _ORDER:
        at = find(key, start)
        if at < 0:
            return None
        if field is None:
            if at != 1:
                return None
        elif line[at - 1] == ",":
            spans[field] = line[start:at - 1]
        else:
            return None
        start, field = at + size, name
    spans[field] = line[start:last]
    return spans


def _small_json(text: str) -> Any:
    if len(text) > 1 and text[0] == '"' == text[-1] and "\\" not in text and '"' not in text[1:-1] \
            and text.isprintable():
        return text[1:-1]  # a plain JSON string needs no decoder
    value, end = _raw_decode(text)  # json.loads without its wrapper (the text is stripped)
    if end != len(text):
        raise json.JSONDecodeError("Extra data", text, end)
    return value


def _from_full_line(line: str, where: str) -> Case:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise CaseError(f"{where} column {exc.colno}: invalid JSON: {exc.msg}") from None
    return case_from_dict(data, where=where)


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
