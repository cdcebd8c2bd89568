"""Policy variables: ``${aws:username}``, ``${aws:PrincipalTag/team}``, ``${*}`` and defaults.

Introduced in ``notebooks/02-guardrails.ipynb``. AWS replaces ``${key}`` with the request's
value for that key; ``${*}``, ``${?}`` and ``${$}`` stand for the literal characters; a
default follows a comma in quotes (``${aws:PrincipalTag/team, 'company-wide'}``). Variables
work in ``Resource`` and in condition values. When the key is absent and there is no
default, the variable cannot be replaced and that value matches nothing:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html

>>> ctx = {"aws:principaltag/team": ("data",)}
>>> resolve("arn:aws:s3:::share/${aws:PrincipalTag/team}/*", ctx)
'arn:aws:s3:::share/data/*'
>>> resolve("${aws:username}", ctx) is None
True
>>> resolve("${aws:username, 'nobody'}", ctx)
'nobody'
>>> template_regex("a${*}b*", {})
'a\\\\*b.*'

The special variables and replaced values are literal text "in any string where you can use
regular policy variables", ARN operators included: ``${*}`` in an ``ArnLike`` value is an
asterisk, not a wildcard (see :func:`arn_template_regexes`).
"""
from __future__ import annotations

import re
from functools import lru_cache

from .matching import arn_pattern_regex, wildcard_regex

__all__ = ["arn_template_regexes", "has_variables", "match_templates", "parse_template", "resolve",
           "template_pieces", "template_regex", "VariableError"]

_VAR = re.compile(r"\$\{([^}]*)\}")
_ESCAPES = {"*": "*", "?": "?", "$": "$"}
_DEFAULT = re.compile(r"^\s*([^,\s]+)\s*,\s*'([^']*)'\s*$")


class VariableError(ValueError):
    """A ``${...}`` that is not a valid policy variable."""


def has_variables(text: str) -> bool:
    """Does ``text`` contain a ``${...}`` to replace?"""
    return "${" in text


@lru_cache(maxsize=8192)
def parse_template(text: str) -> tuple[tuple, ...]:
    """Split ``text`` into ``("lit", s)``, ``("esc", ch)`` and ``("var", key, default)`` parts.

    Keys are lower-cased (condition keys are case-insensitive).
    """
    parts: list[tuple] = []
    pos = 0
    for found in _VAR.finditer(text):
        if found.start() > pos:
            parts.append(("lit", text[pos:found.start()]))
        inner = found.group(1)
        if inner in _ESCAPES:
            parts.append(("esc", inner))
        else:
            with_default = _DEFAULT.match(inner)
            if with_default:
                parts.append(("var", with_default.group(1).lower(), with_default.group(2)))
            elif inner.strip() and "," not in inner:
                parts.append(("var", inner.strip().lower(), None))
            else:
                raise VariableError(f"malformed policy variable ${{{inner}}} in {text!r}")
        pos = found.end()
    if pos < len(text):
        parts.append(("lit", text[pos:]))
    return tuple(parts)


def _value(part: tuple, context) -> str | None:
    values = context.get(part[1])
    if values:
        return values[0] if len(values) == 1 else None
    return part[2]


def resolve(text: str, context) -> str | None:
    """``text`` with every variable replaced, or None if one cannot be replaced."""
    if "${" not in text:
        return text
    pieces = template_pieces(text, context)
    return None if pieces is None else "".join(piece for piece, _wild in pieces)


def template_pieces(text: str, context) -> tuple[tuple[str, bool], ...] | None:
    """``text`` after replacement as ``(text, wild)`` pieces, ``wild`` true where ``*`` and
    ``?`` are wildcards (text written in the policy) and false where they are literal
    (``${*}``, ``${?}``, a replaced value); None if a variable cannot be replaced.

    >>> template_pieces("a${*}${aws:username}*", {"aws:username": ("b?",)})
    (('a', True), ('*', False), ('b?', False), ('*', True))
    """
    out = []
    for part in parse_template(text):
        if part[0] == "var":
            value = _value(part, context)
            if value is None:
                return None
            out.append((value, False))
        else:
            out.append((part[1], part[0] == "lit"))
    return tuple(out)


def template_regex(text: str, context) -> str | None:
    """A wildcard regex for ``text`` after replacement; escapes and values stay literal."""
    pieces = template_pieces(text, context)
    if pieces is None:
        return None
    return "".join(wildcard_regex(piece) if wild else re.escape(piece) for piece, wild in pieces)


def arn_template_regexes(text: str, context) -> tuple[str, ...] | None:
    """One wildcard regex per colon-delimited ARN part of ``text`` after replacement (the ARN
    operators check "each of the six colon-delimited components of the ARN" separately:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_ARN
    ), or None if a variable cannot be replaced. ``*`` and ``?`` written in the policy are
    wildcards within one part; ``${*}``, ``${?}`` and replaced values stay literal. A colon
    after the fifth belongs to the resource part.

    >>> arn_template_regexes("arn:aws:iam::${aws:PrincipalAccount}:role/${*}",
    ...                      {"aws:principalaccount": ("111",)})
    ('arn', 'aws', 'iam', '', '111', 'role/\\\\*')
    """
    pieces = template_pieces(text, context)
    if pieces is None:
        return None
    parts: list[list[str]] = [[]]
    for piece, wildcards in pieces:
        for index, run in enumerate(piece.split(":")):
            if index:
                if len(parts) < 6:
                    parts.append([])
                else:
                    parts[-1].append(":")
            parts[-1].append(wildcard_regex(run) if wildcards else re.escape(run))
    return tuple("".join(p) for p in parts)


def match_templates(patterns: tuple[str, ...], value: str, context: dict) -> bool:
    """Does ``value`` match any of ``patterns`` (``Resource`` or ``NotResource`` entries)
    once their variables are replaced from ``context``? A pattern whose variable has no
    value in ``context`` matches nothing. Wildcards keep to their ARN field as in a pattern
    without variables (one rule, :func:`~labkit.policy.matching.arn_pattern_regex`): "You
    can use wildcard characters (* and ?) within the individual segments of an ARN (the
    parts separated by colons)":
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html

    >>> match_templates(("arn:aws:s3:::home/${aws:username}/*",), "arn:aws:s3:::home/alice/x",
    ...                 {"aws:username": ("alice",)})
    True
    >>> match_templates(("arn:aws:ec2:*1:instance/${aws:username}",),
    ...                 "arn:aws:ec2:us-east-1:111111111111:instance/alice", {"aws:username": ("alice",)})
    False
    """
    for pattern in patterns:
        pieces = template_pieces(pattern, context)
        if pieces is not None and re.match(arn_pattern_regex(pieces) + r"\Z", value, re.DOTALL):
            return True
    return False
