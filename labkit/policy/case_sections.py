"""A case line's policy sections, from their JSON text to the engine's values.

Introduced in ``notebooks/02-guardrails.ipynb``; used by :func:`labkit.policy.cases.case_from_line`
(case format: ``docs/policy-case-format.md``). Each policy is keyed by its own text
and each organization level by its own, so a policy or a level shared by many cases is
decoded and parsed once per process, and a level seen before is not even decoded again.
Anything unusual returns None, and the caller decodes the section whole (for its messages).

>>> value = section_from_text("scps", '[[{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}],[]]')
>>> [(level.label, [p.name for p in level.policies]) for level in value]
[('Root', ['SCP 1 at Root']), ('Account', [])]
>>> section_from_text("identity_policies", '[{"Statement": 7}') is None
True
"""
from __future__ import annotations

import json
from typing import Any

from .model import Level
from .parse import parse_decoded

__all__ = ["section_from_text"]

_CACHE_LIMIT = 20000

_raw_decode = json.JSONDecoder().raw_decode
_SPACE = " \t\n\r"


class _Unusual(Exception):
    """A section whose shape the splitter does not handle; the general path decides."""


def _skip(text: str, at: int) -> int:
    while text[at] in _SPACE:
        at += 1
    return at


def _policy_text(text: str, at: int) -> tuple[tuple[str, dict], int]:
    doc, end = _raw_decode(text, at)
    if type(doc) is not dict:
        raise _Unusual
    return (text[at:end], doc), end


def _array(text: str, at: int, item) -> tuple[list, int]:
    """The items of the JSON array starting at ``text[at]``, each read by ``item``."""
    if text[at] != "[":
        raise _Unusual
    at += 1
    if text[at] in _SPACE:
        at = _skip(text, at)
    out: list = []
    if text[at] == "]":
        return out, at + 1
    while True:
        value, at = item(text, at)
        out.append(value)
        char = text[at]
        if char in _SPACE:
            at = _skip(text, at)
            char = text[at]
        if char == "]":
            return out, at + 1
        if char != ",":
            raise _Unusual
        at += 1
        if text[at] in _SPACE:
            at = _skip(text, at)


def _level_text(text: str, at: int) -> tuple[str, int]:
    level, end = _raw_decode(text, at)
    if type(level) is not list:
        raise _Unusual
    return text[at:end], end


def section_from_text(field: str, text: str) -> Any:
    """A section's value built from its text, each policy keyed by its own text and each
    organization level by its own; None when the section is not the usual shape (the
    caller then decodes it whole, for the builders' messages)."""
    try:
        if field == "identity_policies":
            policies, end = _array(text, 0, _policy_text)
            value: Any = tuple([parse_decoded(doc, text=piece, name=f"identity policy {i + 1}")
                                for i, (piece, doc) in enumerate(policies)])
        elif field in ("scps", "rcps"):
            value = _levels_by_text(text, field[:-1])
            if value is not None:
                return value
            levels, end = _array(text, 0, _level_text)
            value = _parsed_levels(levels, field[:-1])
        else:
            (piece, doc), end = _policy_text(text, 0)
            kind = "boundary" if field == "permissions_boundary" else "resource"
            value = parse_decoded(doc, text=piece, name=_NAMES[field], kind=kind)
    except (_Unusual, IndexError, ValueError):
        return None
    return value if end == len(text) else None


_NAMES = {"permissions_boundary": "permissions boundary", "resource_policy": "resource policy"}
_LEVELS: dict[tuple[str, str, str], Level] = {}


def _levels_by_text(text: str, kind: str) -> tuple[Level, ...] | None:
    """The levels of a compact ``[[...],[...]]`` section, cut at each ``],[``, without
    decoding a level seen before; None if a cut is wrong or the section is not compact.

    Every piece used is a complete JSON array: a known level's text (known because it
    decoded as one) or a piece that decodes as one now. Pieces that are all complete arrays,
    joined by commas inside brackets, are the section's elements (a JSON array has one
    parse), so a ``],[`` inside a string can only make a piece fail, never mislead.
    """
    if text[:2] != "[[" or text[-2:] != "]]":
        return None
    parts = text[1:-1].split("],[")
    last = len(parts) - 1
    out = []
    for i, part in enumerate(parts):
        piece = ("[" if i else "") + part + ("]" if i < last else "")
        label = "Root" if i == 0 else ("Account" if i == last else f"OU level {i}")
        level = _LEVELS.get((piece, label, kind))
        if level is None:
            try:
                pieces, end = _array(piece, 0, _policy_text)
            except (_Unusual, IndexError, ValueError):
                return None
            if end != len(piece):
                return None
            level = _level(piece, pieces, label, kind)
        out.append(level)
    return tuple(out)


def _level(text: str, pieces: list, label: str, kind: str) -> Level:
    level = Level._parsed(label=label, policies=tuple([
        parse_decoded(doc, text=piece, name=f"{kind.upper()} {j + 1} at {label}", kind=kind)
        for j, (piece, doc) in enumerate(pieces)]))
    if len(_LEVELS) > _CACHE_LIMIT:
        _LEVELS.clear()
    _LEVELS[(text, label, kind)] = level
    return level


def _parsed_levels(texts: list[str], kind: str) -> tuple[Level, ...]:
    """Levels labelled as :func:`_levels` labels them; one Level per distinct (text, label),
    so its flattened statements are worked out once however many paths share it."""
    count = len(texts)
    out = []
    for i, text in enumerate(texts):
        label = "Root" if i == 0 else ("Account" if i == count - 1 else f"OU level {i}")
        level = _LEVELS.get((text, label, kind))
        if level is None:
            level = _level(text, _array(text, 0, _policy_text)[0], label, kind)
        out.append(level)
    return tuple(out)
