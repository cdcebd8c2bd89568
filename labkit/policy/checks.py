"""IAM's policy grammar, checked element by element with the position of each mistake.

:class:`Checker` walks the located JSON tree from :mod:`labkit.policy.locations` and records
:class:`~labkit.policy.problems.Problem` values; :mod:`labkit.policy.policy_types` adds the
rules of SCPs, RCPs and trust policies. The grammar is
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
"""
from __future__ import annotations

import json
import re

from labkit.policy import catalogue
from labkit.policy.conditions import takes_variables
from labkit.policy.locations import Node
from labkit.policy.policy_types import (NOTPRINCIPAL_PAGE, PRINCIPAL_PAGE, RCP_SYNTAX, SCP_SYNTAX,
                                        rcp_rules, scp_rules, trust_rules)
from labkit.policy.problems import Problem

__all__ = ["Checker", "IAM_ELEMENTS"]

IAM_ELEMENTS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements.html"

_TOP_KEYS = ("Version", "Id", "Statement")
_STATEMENT_KEYS = ("Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction",
                   "Resource", "NotResource", "Condition")
_PRINCIPAL_KEYS = ("AWS", "Service", "Federated", "CanonicalUser")
_KIND = {"identity": "an identity-based policy", "scp": "an SCP", "rcp": "an RCP",
         "resource": "a resource-based policy", "trust": "a role trust policy"}
_PARTITIONS = ("aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e",
               "aws-iso-f", "aws-eusc")
_VARIABLE = re.compile(r"\$\{[^}]*\}")
#: "You can not use a policy variable with" the Numeric, Date, Binary, IP address and Null
#: operators (each operator's section of this page); see labkit.policy.conditions.
_OPERATORS_PAGE = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html"
#: aws:PrincipalArn: "For IAM roles, the request context returns the ARN of the role, not the
#: ARN of the user that assumed the role."
_PRINCIPALARN_KEY = ("https://docs.aws.amazon.com/IAM/latest/UserGuide/"
                     "reference_policies_condition-keys.html#condition-keys-principalarn")
_ACTION = re.compile(r"^[A-Za-z0-9*?-]+:[A-Za-z0-9*?_-]+$")
_SID_IAM = re.compile(r"^[A-Za-z0-9]*$")


class Checker:
    """Collects problems for one document; each ``check_*`` method is one rule."""

    def __init__(self, *, policy_type: str, syntax: str, source: str, exempt_allow: bool):
        self.type, self.syntax, self.source = policy_type, syntax, source
        self.exempt_allow = exempt_allow
        self.problems: list[Problem] = []
        self.index: int | None = None
        self.sid: str | None = None

    def add(self, severity: str, code: str, node_or_pos, message: str,
            field: str | None = None) -> None:
        line, column = ((node_or_pos.line, node_or_pos.column) if isinstance(node_or_pos, Node)
                        else node_or_pos)
        self.problems.append(Problem(severity=severity, code=code, message=message,
                                     source=self.source, line=line, column=column,
                                     statement=self.index, sid=self.sid, field=field))

    # -- the document ---------------------------------------------------------------------
    def document(self, node: Node) -> None:
        if node.kind != "object":
            self.add("error", "not-an-object", node, "a policy must be a JSON object")
            return
        self.duplicate_keys(node)
        for key in node.members:
            if key not in _TOP_KEYS:
                self.add("error", "unknown-top-level-key", node.keys[key],
                         f"unknown element {key!r}; a policy has only Version, Id and Statement "
                         f"({IAM_ELEMENTS})", field=key)
        self.version(node)
        statements = node.members.get("Statement")
        if statements is None:
            self.add("error", "missing-statement", node, "a policy needs a Statement",
                     field="Statement")
            return
        items = statements.items if statements.kind == "array" else (statements,)
        if statements.kind == "array" and not items:
            self.add("error", "statement-shape", statements, "Statement is an empty list",
                     field="Statement")
        seen: dict[str, int] = {}
        for index, item in enumerate(items):
            self.index, self.sid = index, None
            if item.kind != "object":
                self.add("error", "statement-shape", item,
                         "a statement must be a JSON object", field="Statement")
                continue
            self.statement(item, seen)
        self.index = self.sid = None

    def duplicate_keys(self, node: Node) -> None:
        for key, line, column in node.duplicates:
            self.add("warning", "duplicate-key", (line, column),
                     f"key {key!r} appears more than once; only the last one counts "
                     "(RFC 8259 section 4: names SHOULD be unique)", field=key)

    def version(self, node: Node) -> None:
        """Version: "2012-10-17" (current) or "2008-10-17"; SCPs and RCPs need 2012-10-17.

        https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html
        """
        version = node.members.get("Version")
        org = self.type in ("scp", "rcp")
        if version is None:
            if org:
                self.add("error", "version-missing", node,
                         f'every {self.type.upper()} needs "Version": "2012-10-17" '
                         f"({SCP_SYNTAX if self.type == 'scp' else RCP_SYNTAX})", field="Version")
            else:
                self.add("warning", "version-missing", node,
                         "no Version; IAM then uses 2008-10-17, which has no policy variables",
                         field="Version")
        elif version.value == "2008-10-17" and not org:
            self.add("warning", "version-old", version,
                     '"2008-10-17" has no policy variables; use "2012-10-17"', field="Version")
        elif version.value != "2012-10-17":
            allowed = '"2012-10-17"' if org else '"2012-10-17" or "2008-10-17"'
            self.add("error", "version-invalid", version,
                     f"must be {allowed}, not {version.value!r}", field="Version")

    # -- one statement --------------------------------------------------------------------
    def statement(self, node: Node, seen: dict[str, int]) -> None:
        m = node.members
        self.duplicate_keys(node)
        sid = m.get("Sid")
        if sid is not None:
            self.sid_rule(sid, seen)
        for key in m:
            if key not in _STATEMENT_KEYS:
                self.add("error", "unknown-statement-key", node.keys[key],
                         f"unknown statement element {key!r} ({IAM_ELEMENTS})", field=key)
        effect = m.get("Effect")
        if effect is None:
            self.add("error", "effect-missing", node, "a statement needs an Effect",
                     field="Effect")
        elif effect.value not in ("Allow", "Deny"):
            self.add("error", "effect-invalid", effect,
                     f'must be "Allow" or "Deny", not {effect.value!r}', field="Effect")
        allow = effect is not None and effect.value == "Allow"
        self.pair(node, "Action", "NotAction", required=True)
        self.pair(node, "Resource", "NotResource", required=self.type in ("identity", "scp", "rcp"))
        self.principals(node)
        for name in ("Action", "NotAction"):
            if name in m:
                self.actions(m[name], name)
        for name in ("Resource", "NotResource"):
            if name in m:
                self.resources(m[name], name)
        if "Condition" in m:
            self.condition(m["Condition"])
        if self.type == "scp":
            scp_rules(self, node, allow)
        elif self.type == "rcp":
            rcp_rules(self, node, allow)
        elif self.type == "trust":
            trust_rules(self, node)

    def sid_rule(self, sid: Node, seen: dict[str, int]) -> None:
        """Sid: a string, unique in the policy; IAM allows only ASCII letters and digits.

        https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_sid.html
        """
        if sid.kind != "string":
            self.add("error", "sid-invalid", sid, "Sid must be a string", field="Sid")
            return
        self.sid = sid.value
        if self.type in ("identity", "trust") and not _SID_IAM.match(sid.value):
            self.add("error", "sid-invalid", sid,
                     "IAM allows only ASCII letters and digits in a Sid", field="Sid")
        if sid.value in seen:
            self.add("error", "duplicate-sid", sid,
                     f"Sid {sid.value!r} is already used by Statement[{seen[sid.value]}]; "
                     "Sids must be unique within a policy", field="Sid")
        elif sid.value:
            seen[sid.value] = self.index

    def pair(self, node: Node, name: str, negated: str, *, required: bool) -> None:
        """Exactly one of Action/NotAction (and Resource/NotResource where required).

        https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html,
        https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
        """
        m = node.members
        if name in m and negated in m:
            self.add("error", f"{name.lower()}-conflict", node.keys[negated],
                     f"a statement may have {name} or {negated}, not both", field=negated)
        elif required and name not in m and negated not in m:
            self.add("error", f"{name.lower()}-missing", node,
                     f"a statement in {_KIND[self.type]} needs {name} or {negated}", field=name)

    def strings(self, node: Node, field: str) -> list[Node]:
        """A string-or-list-of-strings element, as its string nodes."""
        items = node.items if node.kind == "array" else (node,)
        if node.kind == "array" and not items:
            self.add("error", "value-type", node, "must not be an empty list", field=field)
        good = [item for item in items if item.kind == "string"]
        for item in items:
            if item.kind != "string":
                self.add("error", "value-type", item,
                         f"must be a string or a list of strings, not {item.kind}", field=field)
        return good

    def actions(self, node: Node, field: str) -> None:
        """Each action is ``*`` or ``service:Action`` (wildcards allowed); unknown ones warn."""
        for item in self.strings(node, field):
            action = item.value
            if action != "*" and not _ACTION.match(action):
                self.add("error", "action-malformed", item,
                         f"{action!r} is not '*' or 'service:Action'", field=field)
            elif not catalogue.action_known(action):
                service = action.partition(":")[0]
                what = ("matches no known action" if any(c in action for c in "*?")
                        else "is not a known action")
                if not any(c in service for c in "*?") and not catalogue.service_known(service):
                    what = f"names an unknown service {service!r}"
                self.add("warning", "action-unknown", item,
                         f"{action!r} {what} (AWS accepts it, but it grants or denies nothing)",
                         field=field)

    def resources(self, node: Node, field: str) -> None:
        """Each resource is ``*`` or an ARN: arn:partition:service:region:account:resource.

        https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html
        """
        for item in self.strings(node, field):
            value = item.value
            if value == "*":
                continue
            parts = _VARIABLE.sub("\0", value).split(":", 5)  # ${aws:x} holds a colon
            if len(parts) < 6 or parts[0] != "arn" or not parts[2] or not parts[5]:
                self.add("error", "arn-malformed", item,
                         f"{value!r} is not '*' or an ARN "
                         "(arn:partition:service:region:account:resource)", field=field)
            elif parts[1] not in _PARTITIONS and not any(c in parts[1] for c in "*?\0"):
                self.add("error", "arn-malformed", item,
                         f"unknown partition {parts[1]!r} in {value!r}", field=field)

    def condition(self, node: Node) -> None:
        """Condition: {operator: {key: value or list}}, with operators AWS defines.

        https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html
        """
        if node.kind != "object":
            self.add("error", "condition-shape", node,
                     "Condition must be an object of operator -> {key: values}", field="Condition")
            return
        self.duplicate_keys(node)
        for operator, block in node.members.items():
            where = node.keys[operator]
            if not catalogue.is_condition_operator(operator):
                self.add("error", "condition-operator-unknown", where,
                         f"unknown condition operator {operator!r} (see {catalogue.__name__} "
                         f"and {_OPERATORS_PAGE})",
                         field="Condition")
            if block.kind != "object" or not block.members:
                self.add("error", "condition-shape", block,
                         f"{operator} must map condition keys to values", field="Condition")
                continue
            self.duplicate_keys(block)
            literal = catalogue.is_condition_operator(operator) and not takes_variables(operator)
            for key, values in block.members.items():
                items = values.items if values.kind == "array" else (values,)
                if any(v.kind in ("object", "array", "null") for v in items) or not items:
                    self.add("error", "condition-shape", values,
                             f"{operator} {key}: values must be strings, numbers, booleans "
                             "or a list of them", field="Condition")
                    continue
                for value in items if literal else ():
                    if value.kind == "string" and _VARIABLE.search(value.value):
                        self.add("warning", "condition-variable-literal", value,
                                 f"{operator} {key}: {value.value!r} is compared as literal text, "
                                 f"not as a policy variable: only String, ARN and Bool operators "
                                 f"take variables ({_OPERATORS_PAGE})", field="Condition")

    def principals(self, node: Node) -> None:
        """Principal: forbidden in identity policies and SCPs, required in resource/trust.

        https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
        """
        m = node.members
        present = [k for k in ("Principal", "NotPrincipal") if k in m]
        if self.type in ("identity", "scp"):
            for key in present:
                page = SCP_SYNTAX if self.type == "scp" else IAM_ELEMENTS
                self.add("error", "principal-forbidden", node.keys[key],
                         f"{key} is not allowed in {_KIND[self.type]}: it applies to the "
                         f"principals it is attached to ({page})", field=key)
            return
        if len(present) == 2:
            self.add("error", "principal-conflict", node.keys["NotPrincipal"],
                     "a statement may have Principal or NotPrincipal, not both",
                     field="NotPrincipal")
        elif not present:
            self.add("error", "principal-missing", node,
                     f"a statement in {_KIND[self.type]} needs a Principal", field="Principal")
        if "NotPrincipal" in m and self.type == "resource":
            self.not_principal_allow(node)
        for key in present:
            value = m[key]
            if value.kind == "string":
                if value.value != "*":
                    self.add("error", "principal-invalid", value,
                             f'{key} must be "*" or an object such as {{"AWS": ...}}', field=key)
                continue
            if value.kind != "object":
                self.add("error", "principal-invalid", value,
                         f'{key} must be "*" or an object such as {{"AWS": ...}}', field=key)
                continue
            for kind, ids in value.members.items():
                if kind not in _PRINCIPAL_KEYS:
                    self.add("error", "principal-invalid", value.keys[kind],
                             f"unknown principal type {kind!r}; use one of "
                             f"{', '.join(_PRINCIPAL_KEYS)}", field=key)
                for item in self.strings(ids, key):
                    self.principal_wildcard(item, kind, key)

    def principal_wildcard(self, item: Node, kind: str, key: str) -> None:
        """A wildcard may be a whole principal (``"*"``), never part of one.

        The Principal page (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html):
        "You cannot use a wildcard to match part of a principal name or ARN."; the grammar's
        notes on ``principal_id_string``
        (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html):
        "you can use * only to specify "everyone/anonymous." You cannot use it to specify part
        of a name or ARN." So ``arn:aws:iam::*:role/Admin`` or ``arn:aws:iam::111111111111:role/*``
        is an error (``?`` too). What the Principal page offers instead is a "broad-permission
        policy" with ``"Principal": "*"`` and the ``aws:PrincipalArn`` condition key, whose
        ARN operators take wildcards; where the account is fixed, the same page says to
        "specify intended principals, services, or AWS accounts in the Principal element and
        then further restrict access in the Condition element" (rather than ``"*"`` with
        Allow, "especially true for IAM role trust policies"), so the advice names the account.

        For a role session pattern (``arn:aws:sts::ACCT:assumed-role/ROLE/SESSION``) the
        advice names the role's ARN (``arn:aws:iam::ACCT:role/ROLE``, keeping the pattern's
        wildcards), since aws:PrincipalArn never holds a session ARN: "For IAM roles, the
        request context returns the ARN of the role, not the ARN of the user that assumed the
        role" (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn).
        """
        value = item.value
        if value == "*" or not any(c in value for c in "*?"):
            return
        arn, note = _principal_arn_pattern(value)
        if kind != "AWS":
            instead = "name each principal in full"
        elif key == "NotPrincipal":
            instead = ('in a Deny statement use "Principal": "*" with a Condition such as '
                       f'{{"ArnNotLike": {{"aws:PrincipalArn": {json.dumps(arn)}}}}}{note}')
        elif not value.startswith("arn:"):
            instead = ('use "Principal": "*" with a Condition on aws:PrincipalArn '
                       "(ArnLike takes wildcards)")
        else:
            fields = value.split(":")
            account = fields[4] if len(fields) > 5 else ""
            named = (f'{{"AWS": "arn:{fields[1]}:iam::{account}:root"}}'
                     if account.isdigit() else '"*"')
            instead = (f'use "Principal": {named} with a Condition such as '
                       f'{{"ArnLike": {{"aws:PrincipalArn": {json.dumps(arn)}}}}}{note}')
        self.add("error", "principal-wildcard", item,
                 f"{value!r}: a wildcard cannot stand for part of a principal name or ARN, "
                 f'only for every principal ("*" alone); {instead} ({PRINCIPAL_PAGE})',
                 field=key)

    def not_principal_allow(self, node: Node) -> None:
        """NotPrincipal works only with ``"Effect": "Deny"``.

        The NotPrincipal page (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html):
        "NotPrincipal must be used with "Effect":"Deny". Using it with "Effect":"Allow" is not
        supported." That wording makes it an error, not a warning. (The page's older text,
        archived in github.com/awsdocs/iam-user-guide, said only "We strongly recommend that
        you do not use NotPrincipal in the same policy statement as "Effect": "Allow"", which
        would have been a warning; the current page is followed here.) Checked for
        resource-based policies only: identity policies and SCPs have no principal at all,
        RCPs and role trust policies no NotPrincipal, each reported by its own rule.
        """
        effect = node.members.get("Effect")
        if effect is not None and effect.value == "Allow":
            self.add("error", "notprincipal-allow", node.keys["NotPrincipal"],
                     'NotPrincipal is not supported with "Effect": "Allow" (it would grant every '
                     'principal but those named, anonymous callers included); use "Deny", or '
                     'name the principals to allow in "Principal" '
                     f"({NOTPRINCIPAL_PAGE})", field="NotPrincipal")

    @staticmethod
    def quiet_strings(node: Node) -> list[Node]:
        items = node.items if node.kind == "array" else (node,)
        return [item for item in items if item.kind == "string"]


def _principal_arn_pattern(value: str) -> tuple[str, str]:
    """The aws:PrincipalArn pattern for the principals a Principal pattern names, and a note
    for the message: a role session ARN pattern becomes its role's ARN pattern, as
    aws:PrincipalArn holds the role's ARN (with its path) for a role session.

    >>> _principal_arn_pattern("arn:aws:sts::111111111111:assumed-role/Dev*/*")[0]
    'arn:aws:iam::111111111111:role/Dev*'
    >>> _principal_arn_pattern("arn:aws:iam::*:role/Admin")
    ('arn:aws:iam::*:role/Admin', '')
    """
    fields = value.split(":", 5)
    if len(fields) < 6 or fields[2] != "sts" or not fields[5].startswith("assumed-role/"):
        return value, ""
    _, role, *session = fields[5].split("/")
    arn = f"arn:{fields[1]}:iam::{fields[4]}:role/{role}"
    sessions = (", so it cannot tell one session of the role from another"
                if session and session != ["*"] else "")
    note = (" (for a role session aws:PrincipalArn is the role's ARN, with the role's path "
            f"if it has one, not the session's ARN{sessions}: {_PRINCIPALARN_KEY})")
    return arn, note
