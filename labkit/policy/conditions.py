"""Condition operators: a registry of small functions, with IfExists / ForAnyValue /
ForAllValues applied once, as wrappers.

Introduced in ``notebooks/02-guardrails.ipynb``. The operator families and their rules:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
Set qualifiers for multivalued keys:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html

- Several values for one key are ORed; several keys, and several operators, are ANDed:
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-logic-multiple-context-keys-or-values.html
- A key missing from the request makes a condition false, except a negated operator
  (``StringNotEquals``, ``ArnNotLike``, ``NotIpAddress``, ...), which is then true;
  ``...IfExists`` is true when the key is missing; ``ForAllValues`` is true and
  ``ForAnyValue`` false for a missing or empty key. ``Null`` tests presence.
- The set operators qualify ``Null`` too (``ForAllValues:Null``, ``ForAnyValue:Null``): the
  operators page excludes ``Null`` from ``IfExists`` only ("You can add IfExists to the end
  of any condition operator name except the Null condition"), and the multivalued-keys page
  sets no such limit on ``ForAllValues``/``ForAnyValue``. No AWS page says what they mean
  with ``Null``; this engine applies the qualifier's own rule for a missing key
  (``ForAllValues`` true, ``ForAnyValue`` false) and tests presence otherwise, which is what
  PMapper's tests record from IAM's policy simulator (nccgroup/PMapper,
  ``test_null_condition_handling``). Another simulator, cloud-copilot/iam-simulate, reads
  both as plain ``Null``; on a missing key the two readings then differ twice:
  ``ForAllValues:Null`` "false" (true here) and ``ForAnyValue:Null`` "true" (false here).
- Condition key names are case-insensitive; values compare as the operator says.
- Policy variables are replaced only in the values of the String, ARN and Bool operators:
  the operators page says "You can use a policy variable with" those and "You can not use a
  policy variable with" the Numeric, Date, Binary, IP address and Null operators. Elsewhere
  ``${...}`` is literal text, which parses as no number, date, address or base-64 value and
  so matches nothing. The pages disagree on Bool: the variables page lists "Boolean" among
  the operators that take no variable
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html#policy-vars-conditionelement);
  this engine follows the operators page, which defines each operator.
- An unknown operator raises :class:`UnknownOperatorError`: it is never ignored.

>>> test = compile_condition("StringNotEqualsIfExists", "aws:PrincipalOrgID", ("o-1",))
>>> test({}), test({"aws:principalorgid": ("o-1",)}), test({"aws:principalorgid": ("o-2",)})
(True, False, True)
"""
from __future__ import annotations

import base64
import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

from .condition_values import date_seconds, number, scalar_text
from .matching import compile_wildcards
from .variables import arn_template_regexes, has_variables, resolve, template_regex

__all__ = [
    "Operator",
    "OPERATORS",
    "UnknownOperatorError",
    "split_operator",
    "takes_variables",
    "scalar_text",
    "check_condition",
    "compile_condition",
    "explain_condition",
]


class UnknownOperatorError(ValueError):
    """A condition operator AWS does not define."""


@dataclass(frozen=True, kw_only=True)
class Operator:
    """One base operator: how to prepare a policy value, how to compare a request value.

    ``negated`` operators are true when no request value matches any policy value.
    """

    name: str
    family: str
    prepare: Callable[[str], Any]
    match: Callable[[str, Any], bool]
    negated: bool = False
    like: bool = False  # wildcards in values (variables then stay literal)


# ---- the families -------------------------------------------------------------------------

def _eq(value: str, policy: str) -> bool:
    return value == policy


def _eq_ci(value: str, policy: str) -> bool:
    return value.casefold() == policy


def _like_prepare(policy: str):
    return compile_wildcards((policy,))


def _like(value: str, policy) -> bool:
    return policy(value)


def _numeric(compare: Callable[[float, float], bool]):
    def match(value: str, policy: float | None) -> bool:
        found = number(value)
        return found is not None and policy is not None and compare(found, policy)
    return match


def _dated(compare: Callable[[float, float], bool]):
    def match(value: str, policy: float | None) -> bool:
        moment = date_seconds(value)
        return moment is not None and policy is not None and compare(moment, policy)
    return match


def _bool_prepare(policy: str) -> str | None:
    """``true`` or ``false`` (any case); anything else matches nothing, since Bool compares
    "a key to 'true' or 'false'"."""
    policy = policy.lower()
    return policy if policy in ("true", "false") else None


def _bool(value: str, policy: str | None) -> bool:
    return value.lower() == policy


def _binary_prepare(policy: str):
    try:
        return base64.b64decode(policy, validate=True)
    except ValueError:
        return None


def _binary(value: str, policy) -> bool:
    try:
        return policy is not None and base64.b64decode(value, validate=True) == policy
    except ValueError:
        return False


def _ip_prepare(policy: str):
    try:
        return ipaddress.ip_network(policy.strip(), strict=False)
    except ValueError:
        return None


def _ip(value: str, network) -> bool:
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return False
    return network is not None and address.version == network.version and address in network


def _arn_prepare(policy: str):
    """Each of the six colon-separated parts is matched on its own, wildcards allowed."""
    return tuple(compile_wildcards((part,)) for part in policy.split(":", 5))


def _arn(value: str, policy) -> bool:
    parts = value.split(":", 5)
    return len(parts) == len(policy) and all(p(v) for p, v in zip(policy, parts))


def _family(family: str, prepare, pairs: dict) -> dict:
    return {
        name: Operator(name=name, family=family, prepare=prepare, match=match, negated=negated,
                       like=prepare in (_like_prepare, _arn_prepare))
        for name, (match, negated) in pairs.items()
    }


def _ge(a, b): return a >= b  # noqa: E704
def _gt(a, b): return a > b  # noqa: E704
def _le(a, b): return a <= b  # noqa: E704
def _lt(a, b): return a < b  # noqa: E704
def _same(a, b): return a == b  # noqa: E704


OPERATORS: dict[str, Operator] = {
    **_family("String", str, {"StringEquals": (_eq, False), "StringNotEquals": (_eq, True)}),
    **_family("String", str.casefold, {"StringEqualsIgnoreCase": (_eq_ci, False),
                                       "StringNotEqualsIgnoreCase": (_eq_ci, True)}),
    **_family("String", _like_prepare, {"StringLike": (_like, False), "StringNotLike": (_like, True)}),
    **_family("Numeric", number, {
        "NumericEquals": (_numeric(_same), False), "NumericNotEquals": (_numeric(_same), True),
        "NumericLessThan": (_numeric(_lt), False), "NumericLessThanEquals": (_numeric(_le), False),
        "NumericGreaterThan": (_numeric(_gt), False),
        "NumericGreaterThanEquals": (_numeric(_ge), False)}),
    **_family("Date", date_seconds, {
        "DateEquals": (_dated(_same), False), "DateNotEquals": (_dated(_same), True),
        "DateLessThan": (_dated(_lt), False), "DateLessThanEquals": (_dated(_le), False),
        "DateGreaterThan": (_dated(_gt), False), "DateGreaterThanEquals": (_dated(_ge), False)}),
    **_family("Bool", _bool_prepare, {"Bool": (_bool, False)}),
    **_family("Binary", _binary_prepare, {"BinaryEquals": (_binary, False)}),
    **_family("IpAddress", _ip_prepare, {"IpAddress": (_ip, False), "NotIpAddress": (_ip, True)}),
    **_family("Arn", _arn_prepare, {
        "ArnEquals": (_arn, False), "ArnLike": (_arn, False),
        "ArnNotEquals": (_arn, True), "ArnNotLike": (_arn, True)}),
}
"""Base operators by name. ``Null`` is handled on its own: it tests presence, not values."""

_VARIABLE_FAMILIES = frozenset({"String", "Arn", "Bool"})
"""Families whose values may hold policy variables (see the module docstring)."""


@lru_cache(maxsize=1024)  # a few dozen names in practice; errors are not cached
def split_operator(operator: str) -> tuple[str | None, str, bool]:
    """``(qualifier, base, if_exists)`` for an operator name; raises if AWS has no such operator.

    The one list of the operator names AWS defines (``catalogue.is_condition_operator`` asks
    it): a base operator of :data:`OPERATORS` or ``Null``, optionally ending in ``IfExists``
    (``Null`` excepted) and starting with ``ForAnyValue:`` or ``ForAllValues:`` (``Null``
    included, see the module docstring). Names are case-sensitive.

    >>> split_operator("ForAllValues:StringLikeIfExists"), split_operator("ForAnyValue:Null")
    (('ForAllValues', 'StringLike', True), ('ForAnyValue', 'Null', False))
    """
    qualifier, colon, base = operator.rpartition(":")
    if colon and qualifier not in ("ForAnyValue", "ForAllValues"):
        raise UnknownOperatorError(f"unknown set operator {qualifier!r} in {operator!r}")
    if_exists = base.endswith("IfExists") and base != "IfExists"
    if if_exists:
        base = base[: -len("IfExists")]
    if base == "Null":
        if if_exists:
            raise UnknownOperatorError(f"unknown condition operator {operator!r}: Null takes no IfExists")
    elif base not in OPERATORS:
        raise UnknownOperatorError(f"unknown condition operator {operator!r}")
    return (qualifier or None), base, if_exists


def takes_variables(operator: str) -> bool:
    """Whether ``${...}`` in the values of ``operator`` is a policy variable (String, ARN and
    Bool operators) rather than literal text (see the module docstring); raises
    :class:`UnknownOperatorError` for an operator AWS does not define.

    >>> takes_variables("ForAnyValue:StringLike"), takes_variables("NumericLessThan"), takes_variables("Null")
    (True, False, False)
    """
    base = split_operator(operator)[1]
    return base != "Null" and OPERATORS[base].family in _VARIABLE_FAMILIES


def _null_expected(key: str, values: tuple[str, ...]) -> set[str]:
    expected = {str(v).lower() for v in values}
    bad = expected - {"true", "false"}
    if bad:
        raise ValueError(f"Null condition on {key!r} needs 'true' or 'false', got {sorted(bad)}")
    return expected


def check_condition(operator: str, key: str, values: tuple[str, ...]) -> None:
    """Raise what :func:`compile_condition` would raise for this condition, without compiling
    it (the parser checks every condition; the engine compiles one when it first needs it).

    >>> check_condition("Null", "aws:TokenIssueTime", ("maybe",))
    Traceback (most recent call last):
    ...
    ValueError: Null condition on 'aws:tokenissuetime' needs 'true' or 'false', got ['maybe']
    """
    _qualifier, base, _if_exists = split_operator(operator)
    if base == "Null":
        _null_expected(key.lower(), values)


def _null(key: str, values: tuple[str, ...], qualifier: str | None = None) -> Callable[[dict], bool]:
    """``Null``: "true" matches a missing (or empty) key, "false" a present one; a set
    operator first applies its own rule for a missing key (see the module docstring)."""
    expected = _null_expected(key, values)
    present = "false" in expected
    if qualifier is not None:
        missing = qualifier == "ForAllValues"
        return lambda context: present if context.get(key) else missing
    absent = "true" in expected
    return lambda context: present if context.get(key) else absent


@lru_cache(maxsize=16384)
def compile_condition(operator: str, key: str, values: tuple[str, ...],
                      variables: bool = True) -> Callable[[dict], bool]:
    """A predicate over a request context (lower-cased keys -> tuples of strings).

    ``variables=False`` (a policy without ``Version: 2012-10-17``) reads ``${...}`` as
    literal text: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html

    >>> any_tag = compile_condition("ForAnyValue:StringEquals", "aws:TagKeys", ("Team", "Cost"))
    >>> any_tag({"aws:tagkeys": ("Owner", "Team")}), any_tag({})
    (True, False)
    """
    qualifier, base, if_exists = split_operator(operator)
    key = key.lower()
    if base == "Null":
        return _null(key, values, qualifier)
    op = OPERATORS[base]
    dynamic = (variables and op.family in _VARIABLE_FAMILIES
               and any(has_variables(v) for v in values))
    fixed = () if dynamic else tuple(op.prepare(v) for v in values)
    match, negated = op.match, op.negated

    def policy_values(context: dict):
        if not dynamic:
            return fixed
        out = []
        for text in values:
            if op.prepare is _like_prepare:
                regex = template_regex(text, context)
                if regex is not None:
                    out.append(re.compile(regex + r"\Z", re.DOTALL).match)
            elif op.prepare is _arn_prepare:
                regexes = arn_template_regexes(text, context)
                if regexes is not None:
                    out.append(tuple(re.compile(r + r"\Z", re.DOTALL).match for r in regexes))
            else:
                resolved = resolve(text, context)
                if resolved is not None:
                    out.append(op.prepare(resolved))
        return out

    def test(context: dict) -> bool:
        request_values = context.get(key)
        if not request_values:
            if if_exists or qualifier == "ForAllValues":
                return True
            if qualifier == "ForAnyValue":
                return False
            return negated
        wanted = policy_values(context)

        def hit(value: str) -> bool:
            found = any(match(value, p) for p in wanted)
            return not found if negated else found

        if qualifier == "ForAllValues":
            return all(hit(v) for v in request_values)
        if qualifier == "ForAnyValue":
            return any(hit(v) for v in request_values)
        found = any(match(v, p) for v in request_values for p in wanted)
        return not found if negated else found

    return test


def explain_condition(operator: str, key: str, values: tuple[str, ...], context: dict,
                      variables: bool = True) -> tuple[bool, str]:
    """Whether one condition holds, and a sentence saying which value decided it.

    >>> explain_condition("StringEquals", "aws:RequestedRegion", ("eu-west-1",),
    ...                   {"aws:requestedregion": ("ap-south-1",)})
    (False, "StringEquals aws:RequestedRegion: request has 'ap-south-1', policy wants 'eu-west-1'")
    """
    passed = compile_condition(operator, key, tuple(values), variables)(context)
    present = context.get(key.lower())
    wanted = ", ".join(repr(v) for v in values)
    if not present:
        has = "request has no such key"
    else:
        has = "request has " + ", ".join(repr(v) for v in present)
    return passed, f"{operator} {key}: {has}, policy wants {wanted}"
