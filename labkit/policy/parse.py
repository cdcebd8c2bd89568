"""Parse a policy document (dict or JSON text) into a frozen :class:`~labkit.policy.model.Policy`.

Introduced in ``notebooks/02-guardrails.ipynb``. Grammar:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
This module only rejects documents the engine cannot evaluate; ``validate.py`` gives the
detailed, per-type messages. Parsing is cached: identical documents parse once.

Policy variables (``${aws:username}``) are variables only in a policy whose ``Version`` is
``2012-10-17``; without it (or with ``2008-10-17``) they "are instead treated as literal
strings", so such statements get ``variables=False``:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html

>>> p = parse_policy('{"Statement": [{"Effect": "Deny", "NotAction": "iam:*", "Resource": "*"}]}',
...                  name="deny-all-but-iam", kind="scp")
>>> p.statements[0].not_actions, p.statements[0].variables
(('iam:*',), False)
>>> parse_policy({"Statement": [{"Effect": "allow", "Action": "*", "Resource": "*"}]}, name="bad")
Traceback (most recent call last):
...
labkit.policy.parse.PolicyParseError: policy 'bad', statement 1: Effect must be "Allow" or "Deny", got 'allow'
"""
from __future__ import annotations

import json
from typing import Any

from .condition_values import scalar_text
from .conditions import UnknownOperatorError, takes_variables
from .model import POLICY_KINDS, Condition, Policy, Statement
from .variables import VariableError, parse_template

__all__ = ["PolicyParseError", "parse_policy", "parse_decoded", "policy_from_dict"]

_NEEDS_RESOURCE = ("identity", "boundary", "session", "scp", "rcp")
VARIABLES_VERSION = "2012-10-17"  # the only Version under which ${...} is a policy variable


class PolicyParseError(ValueError):
    """A policy document the engine cannot evaluate; the message says where."""


def parse_policy(doc: dict | str, *, name: str | None = None, kind: str = "identity") -> Policy:
    """Parse ``doc`` (a dict, or JSON text) into a :class:`Policy` named ``name``."""
    if kind not in POLICY_KINDS:
        raise ValueError(f"kind must be one of {POLICY_KINDS}, got {kind!r}")
    where = f"policy {name or '(unnamed)'!r}"
    if isinstance(doc, str):
        key, source = doc, doc
    elif isinstance(doc, dict):
        try:
            key, source = _KEY.encode(doc), None
        except (TypeError, ValueError) as exc:
            raise PolicyParseError(f"{where}: not JSON data ({exc})") from None
    else:
        raise PolicyParseError(f"{where}: a policy is a JSON object, got {type(doc).__name__}")
    policy = _POLICIES.get((key, name, kind))
    if policy is None:
        body = _BODIES.get((key, kind))
        if body is None:
            if source is not None:
                try:
                    doc = json.loads(source)
                except json.JSONDecodeError as exc:
                    raise PolicyParseError(
                        f"{where}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
            body = _body(doc, kind, where)
            _remember(_BODIES, (key, kind), body)
        policy = Policy(name=name or "(unnamed)", kind=kind, statements=body[0], version=body[1],
                        source_text=source)
        _remember(_POLICIES, (key, name, kind), policy)
    return policy


# Identical documents parse once: the statements are shared by every name a document is
# given (cases reuse policies), and each (document, name, kind) gives the same Policy object.
_KEY = json.JSONEncoder(separators=(",", ":"))
_BODIES: dict[tuple, tuple] = {}
_POLICIES: dict[tuple, Policy] = {}
_CACHE_LIMIT = 20000


def _remember(cache: dict, key: tuple, value: Any) -> None:
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[key] = value


def parse_decoded(doc: Any, *, text: str, name: str | None = None, kind: str = "identity") -> Policy:
    """:func:`parse_policy` for ``doc`` already decoded from the JSON ``text`` it came from.

    The text keys the caches, so the document is neither encoded nor decoded again (the
    case reader decodes each policy once, as it splits a section); ``source_text`` stays
    None, as for a dict given to :func:`parse_policy`.

    >>> text = '{"Statement": {"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}}'
    >>> policy = parse_decoded(json.loads(text), text=text, name="reader")
    >>> policy.statements[0].actions, policy.source_text
    (('s3:Get*',), None)
    """
    policy = _POLICIES.get((text, name, kind, None))
    if policy is None:
        if kind not in POLICY_KINDS:
            raise ValueError(f"kind must be one of {POLICY_KINDS}, got {kind!r}")
        body = _BODIES.get((text, kind))
        if body is None:
            body = _body(doc, kind, f"policy {name or '(unnamed)'!r}")
            _remember(_BODIES, (text, kind), body)
        policy = Policy._parsed(name=name or "(unnamed)", kind=kind, statements=body[0], version=body[1])
        _remember(_POLICIES, (text, name, kind, None), policy)
    return policy


def policy_from_dict(doc: Any, *, name: str | None, kind: str, source_text: str | None = None) -> Policy:
    """Build a :class:`Policy` from a decoded document (uncached)."""
    statements, version = _body(doc, kind, f"policy {name or '(unnamed)'!r}")
    return Policy(name=name or "(unnamed)", kind=kind, statements=statements, version=version,
                  source_text=source_text)


def _body(doc: Any, kind: str, where: str) -> tuple[tuple[Statement, ...], str | None]:
    if not isinstance(doc, dict):
        raise PolicyParseError(f"{where}: a policy is a JSON object, got {type(doc).__name__}")
    raw = doc.get("Statement")
    if raw is None:
        raise PolicyParseError(f"{where}: missing Statement")
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list):
        raise PolicyParseError(f"{where}: Statement must be an object or a list, got {type(raw).__name__}")
    version = doc.get("Version")
    variables = version == VARIABLES_VERSION
    return tuple([_statement(item, i, where, kind, variables) for i, item in enumerate(raw)]), version


def _strings(value: Any, field: str, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise PolicyParseError(f"{where}: {field} must be a string or a list of strings, got {value!r}")


def _principals(value: Any, field: str, where: str) -> tuple[tuple[str, str], ...]:
    if value == "*":
        return (("*", "*"),)
    if not isinstance(value, dict):
        raise PolicyParseError(f'{where}: {field} must be "*" or an object like {{"AWS": [...]}}, got {value!r}')
    out = []
    for kind, entries in value.items():
        if kind not in ("AWS", "Service", "Federated", "CanonicalUser"):
            raise PolicyParseError(f"{where}: {field} has unknown principal type {kind!r}")
        out.extend((kind, entry) for entry in _strings(entries, f"{field}.{kind}", where))
    return tuple(out)


def _conditions(value: Any, where: str, variables: bool = True) -> tuple[Condition, ...]:
    if not isinstance(value, dict):
        raise PolicyParseError(f"{where}: Condition must be an object, got {value!r}")
    out = []
    for operator, block in value.items():
        try:  # the operator is checked first, whatever the Version, so its error reads the same
            templates = takes_variables(operator) and variables  # elsewhere ${...} is literal
        except UnknownOperatorError as exc:
            raise PolicyParseError(f"{where}: Condition: {exc}") from None
        if not isinstance(block, dict):
            raise PolicyParseError(f"{where}: Condition {operator} must map keys to values, got {block!r}")
        for key, values in block.items():
            if type(values) is str:  # the common shapes: one string, a list of strings
                texts = [values]
            elif type(values) is list and values and set(map(type, values)) == _STR:
                texts = values
            else:
                texts = _condition_texts(values, operator, key, where)
            try:
                if templates:
                    for text in texts:
                        if "${" in text:  # text without a variable is all literal
                            parse_template(text)
                out.append(Condition._parsed(operator=operator, key=key, values=tuple(texts),
                                             variables=variables))
            except (VariableError, ValueError) as exc:
                raise PolicyParseError(f"{where}: Condition {operator} {key}: {exc}") from None
    return tuple(out)


def _condition_texts(values: Any, operator: str, key: str, where: str) -> list[str]:
    """Condition values as text: JSON booleans as ``true``/``false``, numbers in plain
    decimal (``0.00001``, not ``1e-05``, which the Numeric and Date operators would not read;
    see :func:`~labkit.policy.condition_values.scalar_text`)."""
    if not isinstance(values, list):
        values = [values]
    texts = []
    for v in values:
        if isinstance(v, (str, bool, int, float)):
            texts.append(scalar_text(v))
        else:
            raise PolicyParseError(f"{where}: Condition {operator} {key}: values must be strings, got {v!r}")
    return texts


_ABSENT = object()


def _pair(item: dict, positive: str, negative: str, where: str, convert) -> tuple:
    yes, no = item.get(positive, _ABSENT), item.get(negative, _ABSENT)
    if yes is not _ABSENT and no is not _ABSENT:
        raise PolicyParseError(f"{where}: use {positive} or {negative}, not both")
    yes = None if yes is _ABSENT else convert(yes, positive, where)
    no = None if no is _ABSENT else convert(no, negative, where)
    return yes, no


_STR = {str}


def _quick_strings(value: Any) -> tuple[str, ...] | None:
    """``value`` as a tuple if it is a string or a list of strings, else None."""
    if type(value) is str:
        return (value,)
    if type(value) is list and (not value or set(map(type, value)) == _STR):
        return tuple(value)
    return None


_PLAIN_KEYS = frozenset({"Sid", "Effect", "Action", "Resource"})


def _statement(item: Any, index: int, where: str, kind: str, variables: bool = True) -> Statement:
    """One statement: the common, well-formed shapes take a short path; anything else
    (and every error, so its message names the statement) takes :func:`_checked_statement`."""
    if type(item) is dict and item.keys() <= _PLAIN_KEYS:  # the commonest shape, checked least
        effect, actions, resources = item.get("Effect"), item.get("Action"), item.get("Resource")
        actions = (actions,) if type(actions) is str else _quick_strings(actions)
        resources = (resources,) if type(resources) is str else _quick_strings(resources)
        if (effect == "Allow" or effect == "Deny") and actions is not None and resources is not None \
                and not (variables and "${" in "\n".join(resources)):
            sid = item.get("Sid")
            return Statement._parsed(sid=sid if type(sid) is str else None, effect=effect, index=index,
                                     actions=actions, not_actions=None, resources=resources,
                                     not_resources=None, principals=None, not_principals=None,
                                     conditions=(), variables=variables)
    if type(item) is dict:
        effect = item.get("Effect")
        if effect == "Allow" or effect == "Deny":
            if "NotAction" in item:
                actions, not_actions = None, (None if "Action" in item else _quick_strings(item["NotAction"]))
                ok = not_actions is not None
            else:
                actions, not_actions = _quick_strings(item.get("Action")), None
                ok = actions is not None
            if "NotResource" in item:
                resources, not_resources = None, (None if "Resource" in item else _quick_strings(item["NotResource"]))
                ok = ok and not_resources is not None
            elif "Resource" in item:
                resources, not_resources = _quick_strings(item["Resource"]), None
                ok = ok and resources is not None
            else:
                resources = not_resources = None
                ok = ok and kind not in _NEEDS_RESOURCE
            patterns = resources or not_resources
            if ok and not (variables and patterns and "${" in "\n".join(patterns)):
                # Principal and Condition come last in the checked order: check them the same way
                sid = item.get("Sid")
                principals = not_principals = None
                conditions = ()
                if "Principal" in item or "NotPrincipal" in item or "Condition" in item:
                    here = f"{where}, statement {index + 1}" + (f" (Sid {sid!r})" if sid else "")
                    if "Principal" in item or "NotPrincipal" in item:
                        principals, not_principals = _pair(item, "Principal", "NotPrincipal", here, _principals)
                    if "Condition" in item:
                        conditions = _conditions(item["Condition"], here, variables)
                return Statement._parsed(sid=sid if isinstance(sid, str) else None, effect=effect,
                                         index=index, actions=actions, not_actions=not_actions,
                                         resources=resources, not_resources=not_resources,
                                         principals=principals, not_principals=not_principals,
                                         conditions=conditions, variables=variables)
    return _checked_statement(item, index, where, kind, variables)


def _checked_statement(item: Any, index: int, where: str, kind: str, variables: bool = True) -> Statement:
    sid = item.get("Sid") if isinstance(item, dict) else None
    here = f"{where}, statement {index + 1}" + (f" (Sid {sid!r})" if sid else "")
    if not isinstance(item, dict):
        raise PolicyParseError(f"{here}: a statement is a JSON object, got {type(item).__name__}")
    effect = item.get("Effect")
    if effect != "Allow" and effect != "Deny":
        raise PolicyParseError(f'{here}: Effect must be "Allow" or "Deny", got {effect!r}')
    actions, not_actions = _pair(item, "Action", "NotAction", here, _strings)
    if actions is None and not_actions is None:
        raise PolicyParseError(f"{here}: needs Action or NotAction")
    resources, not_resources = _pair(item, "Resource", "NotResource", here, _strings)
    if resources is None and not_resources is None and kind in _NEEDS_RESOURCE:
        raise PolicyParseError(f"{here}: needs Resource or NotResource")
    for pattern in (resources or ()) + (not_resources or ()) if variables else ():
        if "${" in pattern:  # only a variable can be malformed
            try:
                parse_template(pattern)
            except VariableError as exc:
                raise PolicyParseError(f"{here}: Resource: {exc}") from None
    principals = not_principals = None
    if "Principal" in item or "NotPrincipal" in item:
        principals, not_principals = _pair(item, "Principal", "NotPrincipal", here, _principals)
    conditions = _conditions(item["Condition"], here, variables) if "Condition" in item else ()
    return Statement._parsed(sid=sid if isinstance(sid, str) else None, effect=effect, index=index,
                             actions=actions, not_actions=not_actions, resources=resources,
                             not_resources=not_resources, principals=principals,
                             not_principals=not_principals, conditions=conditions, variables=variables)
