"""The engine's values: policies, statements, requests and decisions (``Request`` lives in
:mod:`labkit.policy.request`, ``Decision`` in :mod:`labkit.policy.decision`; both are
re-exported here).

Introduced in ``notebooks/02-guardrails.ipynb``. Every value is a frozen, keyword-only
dataclass; string-or-list fields are normalised to tuples once, when parsed. Vocabulary
(``Allowed`` / ``ExplicitlyDenied`` / ``ImplicitlyDenied``) is AWS's:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html

>>> r = Request(principal="arn:aws:iam::111111111111:user/alice", action="S3:GetObject",
...             resource="arn:aws:s3:::b/k", context={"AWS:SourceIp": "10.0.0.1"})
>>> r.principal_account, r.resource_account, r.context_values["aws:sourceip"]
('111111111111', '111111111111', ('10.0.0.1',))
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from .conditions import check_condition, compile_condition
from .matching import (PrincipalInfo, compile_actions, compile_resources, normalise_arn,
                       principal_entry_matches)
from .decision import BLOCKERS, RESULTS, Decision
from .request import PolicyInputError, Request
from .frozen import built as _built, once as _once
from .variables import match_templates

__all__ = [
    "RESULTS", "BLOCKERS", "POLICY_KINDS",
    "Condition", "Statement", "Policy", "Level", "PolicySet", "Request", "Decision",
]

POLICY_KINDS = ("identity", "boundary", "session", "scp", "rcp", "resource", "trust", "kms")


@dataclass(frozen=True, kw_only=True)
class Condition:
    """One ``operator: {key: values}`` test of a statement's ``Condition`` block; ``variables``
    is False without ``Version: 2012-10-17`` (``${...}`` is then literal, see ``parse.py``)."""

    operator: str
    key: str
    values: tuple[str, ...]
    variables: bool = True

    def __post_init__(self) -> None:
        check_condition(self.operator, self.key, self.values)

    @classmethod
    def _parsed(cls, *, operator: str, key: str, values: tuple[str, ...], variables: bool = True) -> "Condition":
        """``Condition(...)`` for the parser, without a frozen dataclass's per-field setattr."""
        check_condition(operator, key, values)
        return _built(cls, {"operator": operator, "key": key, "values": values, "variables": variables})

    @_once
    def test(self) -> Callable[[dict], bool]:
        """The compiled predicate over a request context; compiled when first needed (most
        statements never get past their action, so most conditions are never compiled)."""
        if self.variables:
            return compile_condition(self.operator, self.key, self.values)
        return compile_condition(self.operator, self.key, self.values, variables=False)


@dataclass(frozen=True, kw_only=True)
class Statement:
    """One statement, its string-or-list fields as tuples (None where the field is absent).

    ``principals`` holds ``(type, value)`` pairs, e.g. ``("AWS", "arn:...:root")`` or
    ``("*", "*")`` for ``"Principal": "*"``. ``variables`` is False when the policy has no
    ``Version: 2012-10-17``: ``${...}`` in ``Resource`` is then literal text.
    """

    sid: str | None = None
    effect: str
    index: int = 0
    actions: tuple[str, ...] | None = None
    not_actions: tuple[str, ...] | None = None
    resources: tuple[str, ...] | None = None
    not_resources: tuple[str, ...] | None = None
    principals: tuple[tuple[str, str], ...] | None = None
    not_principals: tuple[tuple[str, str], ...] | None = None
    conditions: tuple[Condition, ...] = ()
    variables: bool = True
    _action: Callable[[str], bool] = field(init=False, repr=False, compare=False)
    fast: tuple = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _derive(self.__dict__)

    @classmethod
    def _parsed(cls, **fields: Any) -> "Statement":
        """A statement from fields the parser has already checked (``parse.py``).

        The same value as ``Statement(**fields)``, built without the per-field
        ``object.__setattr__`` of a frozen dataclass's ``__init__``: the parser builds
        thousands of these on a first pass over a case file.
        """
        _derive(fields)
        return _built(cls, fields)

    @property
    def label(self) -> str:
        """``Sid`` if there is one, else the statement's position (1-based)."""
        return self.sid if self.sid else f"statement {self.index + 1}"

    def matches_action(self, request: "Request") -> bool:
        hit = self._action(request.action_key)
        return hit if self.actions is not None else not hit

    def matches_resource(self, request: "Request") -> bool:
        patterns = self.resources if self.resources is not None else self.not_resources
        if patterns is None:  # trust and key policies may omit Resource: the policy's own resource
            return True
        if self._resource is not None:
            hit = self._resource(request.resource_key)
        else:
            hit = match_templates(tuple(map(normalise_arn, patterns)), request.resource_key,
                                  request.context_values)
        return hit if self.resources is not None else not hit

    def principal_match(self, who: PrincipalInfo, bounded: bool = False) -> str | None:
        """How ``Principal`` names ``who`` ("any", "account", "specific", "role"), or None.
        ``bounded`` (``who`` has a permissions boundary): a Deny with ``NotPrincipal`` "will
        always deny any IAM principal that has a permissions boundary policy attached":
        https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html"""
        if bounded and self.not_principals is not None and self.effect == "Deny":
            return "any"
        if self.principals is not None:
            for kind, value in self.principals:
                how = principal_entry_matches(kind, value, who)
                if how:
                    return how
            return None
        if self.not_principals is not None:
            for kind, value in self.not_principals:
                if principal_entry_matches(kind, value, who, exact=True):
                    return None
            return "any"
        return "any"

    def matches_conditions(self, request: "Request") -> bool:
        context = request.context_values
        for condition in self.conditions:
            if not condition.test(context):
                return False
        return True

    @_once
    def _resource(self) -> Callable[[str], bool] | None:
        """The static resource matcher (None without Resource, or with a policy variable);
        compiled when a request first gets past this statement's action."""
        patterns = self.resources if self.resources is not None else self.not_resources
        if patterns is None or (self.variables and "${" in "\n".join(patterns)):  # "\n": no false "${"
            return None
        return compile_resources(patterns)

    def applies_past_action(self, request: "Request", bounded: bool = False) -> str | None:
        """For a request whose action this statement matches: None if the resource, the
        principal or a condition rules it out, else how ``Principal`` names the requester
        (``bounded``: the requester has a permissions boundary, see :meth:`principal_match`)."""
        if not self.matches_resource(request):
            return None
        if self.principals is not None or self.not_principals is not None:
            how = self.principal_match(request.who, bounded)
            if how is None:
                return None
        else:
            how = "any"
        if self.conditions:
            context = request.context_values
            for condition in self.conditions:
                if not condition.test(context):
                    return None
        return how


def _derive(values: dict) -> None:
    """Fill in a statement's action matcher and its evaluation-loop tuple ``fast``."""
    actions = values["actions"]
    patterns = (actions if actions is not None else values["not_actions"]) or ()
    if len(patterns) == 1 and "*" not in patterns[0] and "?" not in patterns[0]:
        match_action = patterns[0].lower().__eq__  # one exact name: nothing to compile
    else:
        match_action = compile_actions(patterns)
    values["_action"] = match_action
    # what the evaluation loop checks for every statement; the rest waits for an action match
    values["fast"] = (match_action, actions is not None, values["effect"] == "Deny")


@dataclass(frozen=True, kw_only=True)
class Policy:
    """A parsed policy document with a name for explanations.

    ``kind`` is one of ``identity``, ``boundary``, ``session``, ``scp``, ``rcp``, ``resource``,
    ``trust``, ``kms``.
    """

    name: str
    kind: str = "identity"
    statements: tuple[Statement, ...] = ()
    version: str | None = "2012-10-17"
    source_text: str | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in POLICY_KINDS:
            raise ValueError(f"policy {self.name!r}: kind must be one of {POLICY_KINDS}, got {self.kind!r}")

    @classmethod
    def _parsed(cls, *, name: str, kind: str, statements: tuple[Statement, ...], version: str | None) -> "Policy":
        """``Policy(...)`` for the parser, which has checked ``kind``; no per-field setattr."""
        return _built(cls, {"name": name, "kind": kind, "statements": statements, "version": version,
                            "source_text": None})

    @_once
    def entries(self) -> tuple[tuple, ...]:
        """``(policy, statement, *statement.fast)`` per statement: the evaluation loop's input."""
        return tuple([(self, statement, *statement.fast) for statement in self.statements])


@dataclass(frozen=True, kw_only=True)
class Level:
    """The policies attached at one level of an organization path (root, an OU, the account)."""

    label: str
    policies: tuple[Policy, ...] = ()

    def __post_init__(self) -> None:
        policies = self.policies
        if type(policies) is not tuple or not all([type(p) is Policy for p in policies]):
            object.__setattr__(self, "policies", _policies(policies, f"level {self.label!r} policies"))

    @classmethod
    def _parsed(cls, *, label: str, policies: tuple[Policy, ...]) -> "Level":
        """``Level(...)`` for the case reader, whose ``policies`` is a tuple of parsed policies."""
        return _built(cls, {"label": label, "policies": policies})

    @_once
    def entries(self) -> tuple[tuple, ...]:
        """Every statement of every policy at this level, flattened for evaluation."""
        policies = self.policies
        if len(policies) == 1:
            return policies[0].entries
        return tuple([entry for policy in policies for entry in policy.entries])

    @_once
    def allows_everything(self) -> Statement | None:
        """The unconditional ``Allow * on *`` here (FullAWSAccess), if the level has no Deny."""
        found = None
        for policy in self.policies:
            for s in policy.statements:
                if s.effect == "Deny":
                    return None
                if found is None and s.actions == ("*",) and s.resources in (("*",), None) \
                        and s.principals in (None, (("*", "*"),), (("AWS", "*"),)) \
                        and s.not_principals is None and not s.conditions:
                    found = s
        return found


def _what(value: Any) -> str:
    """How an error message names a wrong value: its type, and the value when short."""
    if isinstance(value, Policy):
        return f"a Policy ({value.name!r})"
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 60 else text[:57] + '...'}"


def _policies(value: Any, field_name: str, *, single: bool = True) -> tuple[Policy, ...]:
    """``value`` as a tuple of policies; one Policy alone becomes ``(policy,)`` when ``single``."""
    if single and isinstance(value, Policy):
        return (value,)
    if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__iter__"):
        raise PolicyInputError(f"PolicySet {field_name} must be a list of Policy values "
                        f"(parse_policy(doc) makes one); got {_what(value)}")
    policies = tuple(value)
    for position, policy in enumerate(policies):
        if not isinstance(policy, Policy):
            raise PolicyInputError(f"PolicySet {field_name}[{position}] must be a Policy "
                            f"(parse_policy(doc) makes one from a document); got {_what(policy)}")
    return policies


def _policy(value: Any, field_name: str) -> Policy | None:
    if value is None or isinstance(value, Policy):
        return value
    raise PolicyInputError(f"PolicySet {field_name} must be a Policy or None "
                    f"(parse_policy(doc) makes one from a document); got {_what(value)}")


def _levels(value, kind: str) -> tuple[Level, ...] | None:
    if value is None:
        return None
    if type(value) is tuple and all([type(level) is Level for level in value]):
        return value  # already levels (the case reader's, or another PolicySet's)
    field_name = f"{kind}s"
    if isinstance(value, (str, bytes, dict, Policy)) or not hasattr(value, "__iter__"):
        raise PolicyInputError(f"PolicySet {field_name} must be a list of organization levels, root "
                        f"first (each a Level or a list of policies: [[policy]] for one level); "
                        f"got {_what(value)}")
    value = tuple(value)
    out = []
    for position, level in enumerate(value):
        if not isinstance(level, Level):
            if isinstance(level, Policy):
                raise PolicyInputError(
                    f"PolicySet {field_name}[{position}] is a Policy, but each level is a Level "
                    f"or a list of policies: write [[policy]] for one level holding it")
            level = Level(label=_default_level_label(position, len(value)),
                          policies=_policies(level, f"{field_name}[{position}]", single=False))
        out.append(level)
    return tuple(out)


def _default_level_label(position: int, count: int) -> str:
    return "Root" if position == 0 else "Account" if position == count - 1 else f"OU level {position}"


@dataclass(frozen=True, kw_only=True)
class PolicySet:
    """Every policy AWS weighs for one request.

    ``scps`` / ``rcps`` are lists of :class:`Level` (or lists of policies), root first, the
    account last; None means none apply (management account, or no organization).
    ``resource_kind`` says what the resource policy is: ``resource``, ``trust`` (a role's trust
    policy) or ``kms`` (a key policy); None works it out from the request.
    ``session_policies`` are the session policies passed when the session was made
    (``AssumeRole`` ``Policy``/``PolicyArns``); None or empty means none were passed:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session

    Wrong types are refused here with a ``PolicyInputError`` (a ``TypeError``) naming the
    field and what it expects;
    one :class:`Policy` given for ``identity`` or ``session_policies`` is taken as a
    one-policy list (the only coercion: a document must be parsed with ``parse_policy``).

    >>> p = Policy(name="p", kind="identity")
    >>> PolicySet(identity=p).identity == (p,)
    True
    >>> PolicySet(scps=(p,))
    Traceback (most recent call last):
    ...
    labkit.policy.request.PolicyInputError: PolicySet scps[0] is a Policy, but each level is a Level or a list of policies: write [[policy]] for one level holding it
    """

    identity: tuple[Policy, ...] = ()
    boundary: Policy | None = None
    scps: tuple[Level, ...] | None = None
    rcps: tuple[Level, ...] | None = None
    resource_policy: Policy | None = None
    resource_kind: str | None = None
    session_policies: tuple[Policy, ...] | None = None

    def __post_init__(self) -> None:
        identity = self.identity
        if type(identity) is not tuple or not (
                len(identity) == 1 and type(identity[0]) is Policy  # the usual case, checked fast
                or all([type(p) is Policy for p in identity])):
            object.__setattr__(self, "identity", _policies(identity, "identity"))
        if self.session_policies is not None:
            object.__setattr__(self, "session_policies",
                               _policies(self.session_policies, "session_policies") or None)
        if self.boundary is not None and type(self.boundary) is not Policy:
            _policy(self.boundary, "boundary")
        if self.resource_policy is not None and type(self.resource_policy) is not Policy:
            _policy(self.resource_policy, "resource_policy")
        object.__setattr__(self, "scps", _levels(self.scps, "scp"))
        object.__setattr__(self, "rcps", _levels(self.rcps, "rcp"))
        if self.resource_kind not in (None, "resource", "trust", "kms"):
            raise ValueError(f"resource_kind must be resource, trust or kms, got {self.resource_kind!r}")

    @classmethod
    def _parsed(cls, *, identity: tuple[Policy, ...], boundary: Policy | None, scps: tuple[Level, ...] | None,
                rcps: tuple[Level, ...] | None, resource_policy: Policy | None) -> "PolicySet":
        """``PolicySet(...)`` for the case reader, whose values the parser made (the types
        ``__post_init__`` checks): the same value, without its checks and per-field setattr."""
        return _built(cls, {"identity": identity, "boundary": boundary, "scps": scps, "rcps": rcps,
                            "resource_policy": resource_policy, "resource_kind": None, "session_policies": None})

    @_once
    def identity_entries(self) -> tuple[tuple, ...]:
        """Every identity-policy statement, flattened for evaluation."""
        identity = self.identity
        if len(identity) == 1:
            return identity[0].entries
        # Policy sets built from one case file share their identity tuples: flatten each once.
        # The memo holds the tuple itself, so an id is never reused while its entry is kept.
        found = _FLATTENED.get(id(identity))
        if found is not None and found[0] is identity:
            return found[1]
        entries = tuple([entry for policy in identity for entry in policy.entries])
        if len(_FLATTENED) >= 4096:
            _FLATTENED.clear()
        _FLATTENED[id(identity)] = (identity, entries)
        return entries


_FLATTENED: dict[int, tuple[tuple, tuple]] = {}
