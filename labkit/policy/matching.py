"""Wildcards and names: how IAM matches ``Action``, ``Resource`` and ``Principal``.

Introduced in ``notebooks/02-guardrails.ipynb``. The rules:

- ``*`` matches any run of characters (slashes included) and ``?`` exactly one; "The
  prefix and the action name are case insensitive":
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
  IAM's grammar puts wildcards in the action *name* only ("Consists of a service namespace,
  a colon, and the name of an action. Action names can include wildcards":
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html ). No
  AWS page we found says what a wildcard in the service prefix (``*:Get*``) does; this
  engine matches the whole ``prefix:name`` as one pattern, so there it may cross the colon
  (``s3*:GetObject`` matches ``s3express:GetObject``): this engine's reading, not an AWS
  rule, pinned by the ``service-prefix-*`` cases in ``tests/cases/engine/matching.jsonl``.
- In a resource ARN, wildcards work "within the individual segments of an ARN (the parts
  separated by colons)"; "If the * wildcard is the last character of a resource ARN
  segment, it can expand to match beyond the colon boundaries":
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
  So in the partition, service, region and account fields a ``?``, or a ``*`` that does not
  end its field, never matches a colon (:func:`arn_pattern_regex`).
  The resource part (after the fifth colon, ``resource-type:resource-id`` included) is one
  segment here, where ``*`` and ``?`` match any character, colons included. That is this
  engine's choice, so that ``arn:aws:s3:::bucket/*.gz`` keeps matching S3 keys that contain
  colons (case ``resource-field-is-one-segment``); no AWS page says it, and the S3 ARN page
  disagrees ("a wildcard cannot span segments":
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/s3-arn-format.html ), as does the
  Resource page read strictly.
- ARNs: the resource part compares as written ("ARNs are case sensitive" says the ARN
  page for the resource part, and the Resource element page:
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html ). The partition and
  service parts compare case-insensitively: no AWS page states this; it is the rule of the
  shared case format (``docs/policy-case-format.md``), chosen because those parts are
  fixed lower-case names (``aws``, ``s3``, ...) that AWS itself never writes otherwise, while
  a policy author may (``arn:aws:S3:::bucket``), and the case files' independent simulator
  reads them that way. A learner's policy should still write them in lower case.
- ``Principal``: an account ID or ``arn:aws:iam::ACCOUNT:root`` names the account, a role or
  user ARN names that identity, ``"*"`` or ``{"AWS": "*"}`` names everyone (a ``Service``,
  ``Federated`` or ``CanonicalUser`` entry only a principal of that kind); a role ARN also
  names the role's sessions (``"role"``), a session ARN that one session (``"specific"``):
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
- ``NotPrincipal`` excludes a session only when it names the session ARN: a role ARN there
  does not exempt the role's sessions (the page's key points: the assumed-role user is
  identified by its session name, and AWS checks the account, then the role, then the
  session):
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html

>>> match_action = compile_actions(("s3:Get*", "ec2:DescribeInstances"))
>>> match_action("s3:getobject"), match_action("s3:putobject")
(True, False)
>>> compile_resources(("arn:aws:s3:::acme-logs-?",))(normalise_arn("arn:aws:s3:::acme-logs-7"))
True
>>> compile_resources(("arn:aws:ec2:*",))("arn:aws:ec2:us-east-1:111111111111:instance/i-1")
True
>>> compile_resources(("arn:aws:ec2:*-1:111111111111:instance/*",))("arn:aws:ec2:us-east-1:111111111111:instance/i-1")
True
>>> compile_resources(("arn:aws:ec2:*1:instance/*",))("arn:aws:ec2:us-east-1:111111111111:instance/i-1")
False
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Callable

__all__ = [
    "wildcard_regex",
    "arn_pattern_regex",
    "compile_wildcards",
    "compile_actions",
    "compile_resources",
    "normalise_arn",
    "arn_account",
    "PrincipalInfo",
    "principal_info",
    "session_role_arn",
    "principal_entry_matches",
]

_ALWAYS: Callable[[str], bool] = lambda _value: True  # noqa: E731
_NEVER: Callable[[str], bool] = lambda _value: False  # noqa: E731


def wildcard_regex(pattern: str) -> str:
    """The regular expression (anchored by the caller) for an IAM wildcard pattern.

    >>> wildcard_regex("s3:Get*")
    's3:Get.*'
    """
    out = []
    for char in pattern:
        if char == "*":
            out.append(".*")
        elif char == "?":
            out.append(".")
        else:
            out.append(re.escape(char))
    return "".join(out)


def _glob(pattern: str) -> Callable[[str], bool]:
    """Match a pattern whose only wildcard is ``*`` without a regular expression.

    The first and last pieces anchor the value at its ends; each middle piece is found
    leftmost after the previous one (the leftmost place never loses a later match).
    """
    head, *middle, tail = pattern.split("*")
    middle = [piece for piece in middle if piece]
    need, start = len(head) + len(tail), len(head)

    def match(value: str) -> bool:
        if len(value) < need or not value.startswith(head) or not value.endswith(tail):
            return False
        at, end = start, len(value) - len(tail)
        for piece in middle:
            at = value.find(piece, at, end)
            if at < 0:
                return False
            at += len(piece)
        return True
    return match


@lru_cache(maxsize=65536)
def _compile_set(patterns: tuple[str, ...]) -> Callable[[str], bool]:
    # Cheapest shapes first: exact names (a set lookup), trailing-star prefixes (one C-level
    # startswith over a tuple), other star-only patterns by pieces (:func:`_glob`); only a
    # pattern with ``?`` pays for compiling a regular expression.
    if not patterns:
        return _NEVER
    if "*" in patterns:
        return _ALWAYS
    joined = "\n".join(patterns)
    if "*" not in joined and "?" not in joined:
        return frozenset(patterns).__contains__  # exact names only
    literals = frozenset(p for p in patterns if "*" not in p and "?" not in p)
    prefixes = tuple(p[:-1] for p in patterns
                     if p.endswith("*") and "*" not in p[:-1] and "?" not in p)
    globs = tuple(_glob(p) for p in patterns
                  if "?" not in p and "*" in p[:-1])
    marked = [p for p in patterns if "?" in p]
    regex = None
    if marked:
        regex = re.compile("(?:" + "|".join(wildcard_regex(p) for p in marked) + r")\Z", re.DOTALL).match
    if not globs and not regex:
        if not prefixes:
            return literals.__contains__
        if not literals:
            return lambda value: value.startswith(prefixes)
        return lambda value: value in literals or value.startswith(prefixes)
    if len(patterns) == 1 and globs:
        return globs[0]
    return lambda value: (value in literals or (bool(prefixes) and value.startswith(prefixes))
                          or any(glob(value) for glob in globs)
                          or (regex is not None and regex(value) is not None))


def compile_wildcards(patterns: tuple[str, ...]) -> Callable[[str], bool]:
    """A fast, cached predicate: does a value match any of ``patterns`` (case-sensitive)?

    >>> compile_wildcards(("a*c", "x"))("abbc")
    True
    """
    return _compile_set(tuple(patterns))


@lru_cache(maxsize=65536)
def compile_actions(patterns: tuple[str, ...]) -> Callable[[str], bool]:
    """Predicate over a **lower-cased** action name; actions match case-insensitively
    (cached: statements that share an action list share one predicate)."""
    return _compile_set(tuple(p.lower() for p in patterns))


def normalise_arn(value: str) -> str:
    """Lower-case the ``arn``, partition and service parts so they compare case-insensitively.

    >>> normalise_arn("ARN:AWS:S3:::Bucket/Key")
    'arn:aws:s3:::Bucket/Key'
    """
    if value[:4].lower() != "arn:":
        return value
    parts = value.split(":", 3)
    if len(parts) < 4:
        return value.lower()
    return f"{parts[0].lower()}:{parts[1].lower()}:{parts[2].lower()}:{parts[3]}"


def _field_bound(pattern: str) -> bool:
    """Does a wildcard in ``pattern``'s partition, service, region or account field stop at
    colons (a ``?``, or a ``*`` that is not its field's last character)? Only an ARN has
    fields; any other pattern (``*``, or a malformed ``*/logs``) stays a plain wildcard."""
    if not pattern.startswith("arn:"):
        return False
    fields = pattern.split(":", 5)
    if len(fields) == 6:
        fields.pop()  # the resource field: wildcards there match any character
    return any("?" in field or "*" in field[:-1] for field in fields)


@lru_cache(maxsize=8192)
def arn_pattern_regex(pieces: tuple[tuple[str, bool], ...]) -> str:
    """The regular expression (anchored by the caller) for a ``Resource`` pattern given as
    ``(text, wild)`` pieces (``wild``: its ``*`` and ``?`` are wildcards; false for a policy
    variable's value or ``${*}``). An ARN keeps the wildcards of its partition, service,
    region and account fields inside the field, a ``*`` ending a field (read from the whole
    pattern, values included) excepted; any other pattern is a plain wildcard. One rule for
    :func:`compile_resources` and for ``variables.match_templates`` (module docstring).

    >>> arn_pattern_regex((("arn:aws:ec2:*t?:*", True),))
    'arn:aws:ec2:[^:]*t[^:]:.*'
    >>> arn_pattern_regex((("arn:aws:ec2:*1:instance/", True), ("a*", False)))
    'arn:aws:ec2:[^:]*1:instance/a\\\\*'
    """
    chars = [(char, wild) for text, wild in pieces for char in text]
    if "".join(char for char, _wild in chars[:4]) != "arn:":
        return "".join(wildcard_regex(char) if wild else re.escape(char) for char, wild in chars)
    out, field, last = [], 0, len(chars) - 1  # field: colons seen, 5 for the resource part
    for at, (char, wild) in enumerate(chars):
        if char == ":" and field < 5:
            field += 1
            out.append(":")
        elif not wild or char not in "*?":
            out.append(re.escape(char))
        elif field == 5:
            out.append(".*" if char == "*" else ".")
        elif char == "?":
            out.append("[^:]")
        else:  # a * that ends its field may run on past the colon
            out.append(".*" if at == last or chars[at + 1][0] == ":" else "[^:]*")
    return "".join(out)


@lru_cache(maxsize=65536)
def compile_resources(patterns: tuple[str, ...]) -> Callable[[str], bool]:
    """Predicate over a resource ARN passed through :func:`normalise_arn` (cached, as
    :func:`compile_actions`). Patterns whose partition/service/region/account wildcards
    must stop at colons (rare: ``?`` there, or ``*`` inside a field) get a regular
    expression; every other pattern takes :func:`_compile_set`'s shortcuts."""
    normalised = tuple(normalise_arn(p) for p in patterns)
    bound = [p for p in normalised if _field_bound(p)]
    if not bound or "*" in normalised:  # "*" alone matches everything
        return _compile_set(normalised)
    rest = _compile_set(tuple(p for p in normalised if p not in bound))
    regex = re.compile("(?:" + "|".join(arn_pattern_regex(((p, True),)) for p in bound) + r")\Z",
                       re.DOTALL).match
    return lambda value: rest(value) or regex(value) is not None


def arn_account(arn: str) -> str | None:
    """The account field of an ARN, or None when it has none (S3 buckets, ``*``).

    >>> arn_account("arn:aws:iam::111111111111:role/Developer"), arn_account("arn:aws:s3:::b")
    ('111111111111', None)
    """
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[0].lower() != "arn":
        return None
    return parts[4] or None


class PrincipalInfo:
    """What a request's principal is, worked out once per request.

    ``kind`` is one of ``role``, ``assumed-role``, ``user``, ``root``, ``service`` (a
    service principal such as ``cloudtrail.amazonaws.com``), ``federated`` (an AWS STS
    federated user session, ``arn:aws:sts::ACCOUNT:federated-user/NAME``), ``anonymous``
    (``*``: an unauthenticated caller) or ``other``; ``role_arn`` is the role behind a role
    or a role session. Service and anonymous principals belong to no account. Formats:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html

    A session ARN (``arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION``) has no role path, so
    its ``role_arn`` is rebuilt as ``arn:aws:iam::ACCOUNT:role/NAME`` unless ``role_arn`` is
    given (the request's ``aws:PrincipalArn``, which keeps the path, e.g. Identity Center's
    ``/aws-reserved/sso.amazonaws.com/``); ``role_path_known`` says which.

    >>> who = PrincipalInfo("arn:aws:sts::111111111111:assumed-role/Ops/alice")
    >>> who.role_arn, who.role_path_known
    ('arn:aws:iam::111111111111:role/Ops', False)
    >>> PrincipalInfo("arn:aws:sts::111111111111:assumed-role/Ops/alice",
    ...               role_arn="arn:aws:iam::111111111111:role/team/Ops").role_arn
    'arn:aws:iam::111111111111:role/team/Ops'
    >>> [PrincipalInfo(p).kind for p in ("arn:aws:sts::111111111111:federated-user/bob",
    ...                                  "cloudtrail.amazonaws.com", "*")]
    ['federated', 'service', 'anonymous']
    """

    __slots__ = ("arn", "kind", "account", "role_name", "role_arn", "user_name", "role_path_known")

    def __init__(self, arn: str, role_arn: str | None = None) -> None:
        self.arn = arn
        self.kind = "other"
        self.account = arn_account(arn)
        self.role_name = self.role_arn = self.user_name = None
        self.role_path_known = False
        parts = arn.split(":", 5)
        if len(parts) == 6 and parts[0] == "arn":
            resource = parts[5]
            service = parts[2].lower()
            if service == "iam" and resource == "root":
                self.kind = "root"
            elif service == "iam" and resource.startswith("role/"):
                self.kind = "role"
                self.role_name = resource.rsplit("/", 1)[-1]
                self.role_arn = arn
            elif service == "iam" and resource.startswith("user/"):
                self.kind = "user"
                self.user_name = resource.rsplit("/", 1)[-1]
            elif service == "sts" and resource.startswith("assumed-role/"):
                self.kind = "assumed-role"
                bits = resource.split("/")
                self.role_name = bits[1] if len(bits) > 1 else None
                if role_arn is not None:
                    self.role_arn, self.role_path_known = role_arn, True
                else:
                    self.role_arn = f"arn:{parts[1]}:iam::{self.account}:role/{self.role_name}"
            elif service == "sts" and resource.startswith("federated-user/"):
                self.kind = "federated"  # arn:aws:sts::ACCOUNT:federated-user/NAME (Principal page)
        elif arn.endswith(".amazonaws.com") or arn.endswith(".amazonaws.com.cn"):
            self.kind = "service"
        elif arn == "*":
            self.kind = "anonymous"

    @property
    def is_service_linked_role(self) -> bool:
        """Roles under ``/aws-service-role/`` are service-linked: SCPs and RCPs skip them (and
        their sessions, when the session's role path is known from ``aws:PrincipalArn``)."""
        return self.role_arn is not None and ":role/aws-service-role/" in self.role_arn


@lru_cache(maxsize=4096)
def principal_info(arn: str, role_arn: str | None = None) -> PrincipalInfo:
    """Cached :class:`PrincipalInfo` for a principal ARN (or service name); ``role_arn`` is
    a session's role ARN with its path, when known."""
    return PrincipalInfo(arn, role_arn)


def session_role_arn(who: PrincipalInfo, principal_arn: str) -> str | None:
    """``principal_arn`` (a request's ``aws:PrincipalArn``) if it is the ARN, path included,
    of the role behind the session ``who``, else None.

    >>> who = principal_info("arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_Admin_1/alice")
    >>> session_role_arn(who, "arn:aws:iam::111111111111:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_1")
    'arn:aws:iam::111111111111:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_1'
    >>> session_role_arn(who, "arn:aws:iam::111111111111:role/Other") is None
    True
    """
    if who.kind != "assumed-role":
        return None
    entry = principal_info(principal_arn)
    if entry.kind == "role" and entry.account == who.account and entry.role_name == who.role_name:
        return principal_arn
    return None


_ACCOUNT_ID = re.compile(r"\d{12}\Z")


def principal_entry_matches(kind: str, value: str, who: PrincipalInfo, *, exact: bool = False) -> str | None:
    """How one ``Principal`` entry names the request's principal, or None if it does not.

    Returns ``"any"`` (``*``), ``"account"`` (the account ID or ``:root`` ARN, which delegates
    to the account's own policies), ``"specific"`` (the identity itself; for a session, its
    session ARN) or ``"role"`` (the role ARN behind a session: a permissions boundary caps
    such a grant, not one to the session ARN). A role entry names a session's role by the
    role's full ARN when the request knows it (``aws:PrincipalArn``), else by role name.
    With ``exact=True`` (used for ``NotPrincipal``) an account entry names only the
    account's root user, and a role entry does not name the role's sessions: NotPrincipal
    must name the session ARN itself, as the NotPrincipal page says:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html

    Only ``"*"`` and ``{"AWS": "*"}`` name everyone ("For anonymous users, the following
    elements are equivalent"); a ``Service``, ``Federated`` or ``CanonicalUser`` entry names
    only a principal of that kind, never an anonymous caller (Principal page, above).

    >>> who = principal_info("arn:aws:iam::111111111111:role/ops/Developer")
    >>> principal_entry_matches("AWS", "arn:aws:iam::111111111111:root", who)
    'account'
    >>> principal_entry_matches("AWS", "arn:aws:iam::111111111111:role/ops/Developer", who)
    'specific'
    >>> session = principal_info("arn:aws:sts::111111111111:assumed-role/Developer/alice")
    >>> principal_entry_matches("AWS", "arn:aws:iam::111111111111:role/ops/Developer", session)
    'role'
    >>> principal_entry_matches("AWS", "arn:aws:iam::111111111111:role/ops/Developer", session, exact=True) is None
    True
    >>> anonymous = principal_info("*")
    >>> [principal_entry_matches(kind, "*", anonymous) for kind in ("AWS", "Service", "Federated", "CanonicalUser")]
    ['any', None, None, None]
    """
    if value == "*" and kind in ("*", "AWS"):
        return "any"
    if kind == "AWS":
        if _ACCOUNT_ID.match(value):
            value = f"arn:aws:iam::{value}:root"
        if value == who.arn:
            return "specific"
        entry = principal_info(value)
        if entry.kind == "root" and entry.account == who.account:
            if exact:
                return "specific" if who.kind == "root" else None
            return "account"
        if entry.kind == "role" and who.kind == "assumed-role" and entry.account == who.account:
            if exact:
                return None  # NotPrincipal must name the session ARN
            if who.role_path_known:
                return "role" if normalise_arn(value) == normalise_arn(who.role_arn) else None
            return "role" if entry.role_name == who.role_name else None
        return None
    if value != who.arn:
        return None
    if kind == "Service":  # a service principal; "can't be "Service": "*""
        return "specific" if who.kind == "service" else None
    if kind == "Federated":  # an identity provider
        return "specific" if _is_identity_provider(who) else None
    if kind == "CanonicalUser":  # an S3 canonical user ID: no ARN, no service name, not "*"
        return "specific" if who.kind == "other" and ":" not in value and "." not in value else None
    return None


def _is_identity_provider(who: PrincipalInfo) -> bool:
    """A SAML or OIDC provider (``arn:aws:iam::ACCOUNT:saml-provider/NAME``, ``oidc-provider/``),
    or a web identity provider named like a service (``cognito-identity.amazonaws.com``, which
    this engine cannot tell from a service principal), as in the Principal page's examples."""
    parts = who.arn.split(":", 5)
    return who.kind == "service" or (who.kind == "other" and len(parts) == 6 and parts[2].lower() == "iam"
                                     and parts[5].startswith(("saml-provider/", "oidc-provider/")))
