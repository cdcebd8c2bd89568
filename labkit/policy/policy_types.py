"""Rules one policy type adds to IAM's grammar: SCPs, RCPs and role trust policies.

Each function takes the statement checker from :mod:`labkit.policy.checks` and one statement
node, and reports through ``checker.add``; the AWS page for each rule is in its docstring.
"""
from __future__ import annotations

import re

from labkit.policy import catalogue
from labkit.quotas import QUOTAS_PAGE

__all__ = ["NOTPRINCIPAL_PAGE", "ORG_LIMITS", "PRINCIPAL_PAGE", "RCP_PAGE", "RCP_SYNTAX",
           "SCP_SYNTAX", "rcp_rules", "scp_rules", "trust_rules"]

SCP_SYNTAX = "https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_syntax.html"
RCP_SYNTAX = "https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps_syntax.html"
RCP_PAGE = "https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps.html"
#: The Organizations quotas page (its numbers live in :mod:`labkit.quotas`).
ORG_LIMITS = QUOTAS_PAGE
PRINCIPAL_PAGE = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html"
NOTPRINCIPAL_PAGE = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html"
TRUST_ACTIONS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_terms-and-concepts.html"
#: Actions a role trust policy may grant (IAM returns MalformedPolicyDocument otherwise).
_TRUST = ("sts:assumerole", "sts:assumerolewithsaml", "sts:assumerolewithwebidentity",
          "sts:tagsession", "sts:setsourceidentity", "sts:setcontext")

def scp_rules(checker, node, allow: bool) -> None:
    """SCPs: full IAM language since 19 Sep 2025; ``syntax="pre-2025"`` for the old rules.

    Before, Condition, NotAction and Resource other than ``*`` were Deny-only, there was
    no NotResource, and action wildcards could only end the string
    (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_syntax.html).
    """
    if checker.syntax != "pre-2025":
        return
    m = node.members
    for item in [i for k in ("Action", "NotAction") if k in m
                 for i in checker.quiet_strings(m[k])]:
        head = item.value.rstrip("*?")
        if any(c in head for c in "*?"):
            checker.add("error", "scp-action-wildcard", item,
                     f"{item.value!r}: before September 2025 an SCP wildcard could only "
                     f"end an action ({SCP_SYNTAX})", field="Action")
    if "NotResource" in m:
        checker.add("error", "scp-notresource", m["NotResource"],
                 f"SCPs had no NotResource before September 2025 ({SCP_SYNTAX})",
                 field="NotResource")
    if not allow:
        return
    if "Condition" in m:
        checker.add("error", "scp-allow-condition", node.keys["Condition"],
                 f"before September 2025 SCP Allow statements could not have a Condition "
                 f"({SCP_SYNTAX})", field="Condition")
    if "NotAction" in m:
        checker.add("error", "scp-allow-notaction", node.keys["NotAction"],
                 f"before September 2025 NotAction was Deny-only in SCPs ({SCP_SYNTAX})",
                 field="NotAction")
    for item in checker.quiet_strings(m["Resource"]) if "Resource" in m else ():
        if item.value != "*":
            checker.add("error", "scp-allow-resource", item,
                     'before September 2025 SCP Allow statements needed "Resource": "*" '
                     f"({SCP_SYNTAX})", field="Resource")


def rcp_rules(checker, node, allow: bool) -> None:
    """RCPs: Deny only (but RCPFullAWSAccess), Principal "*", no NotAction/NotPrincipal,
    actions of supported services only
    (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps_syntax.html,
    https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps.html)."""
    m = node.members
    if allow and not checker.exempt_allow:
        checker.add("error", "rcp-allow", m["Effect"],
                 f'custom RCPs may only "Deny"; only RCPFullAWSAccess allows ({RCP_SYNTAX})',
                 field="Effect")
    if "Principal" in m and m["Principal"].value != "*":
        checker.add("error", "rcp-principal", m["Principal"],
                 f'an RCP Principal must be "*" ({RCP_SYNTAX})', field="Principal")
    for key in ("NotAction", "NotPrincipal"):
        if key in m:
            checker.add("error", "rcp-unsupported-element", node.keys[key],
                     f"RCPs do not support {key} ({RCP_SYNTAX})", field=key)
    supported = catalogue.rcp_supported_services()
    for item in checker.quiet_strings(m["Action"]) if "Action" in m else ():
        service = item.value.partition(":")[0].lower()
        if item.value != "*" and ":" in item.value and service not in supported:
            checker.add("error", "rcp-unsupported-service", item,
                     f"RCPs do not apply to {service!r} actions ({RCP_PAGE})", field="Action")


def trust_rules(checker, node) -> None:
    """Role trust policies: no Resource; actions only sts:AssumeRole* and session actions;
    no NotPrincipal.

    (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_terms-and-concepts.html;
    IAM answers MalformedPolicyDocument otherwise.) The NotPrincipal page
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html,
    "Key points"): "You cannot use the NotPrincipal element in an IAM identity-based policy
    nor in an IAM role trust policy."
    """
    m = node.members
    if "NotPrincipal" in m:
        checker.add("error", "trust-notprincipal", node.keys["NotPrincipal"],
                 "a role trust policy cannot use NotPrincipal; name who may assume the role "
                 'in "Principal", and to deny all but some, use "Principal": "*" in a Deny '
                 "statement with an ArnNotEquals or ArnNotLike Condition on aws:PrincipalArn "
                 f"({NOTPRINCIPAL_PAGE})", field="NotPrincipal")
    for key in ("Resource", "NotResource"):
        if key in m:
            checker.add("error", "trust-resource", node.keys[key],
                     f"a role trust policy has no {key}: the role is the resource",
                     field=key)
    for item in checker.quiet_strings(m["Action"]) if "Action" in m else ():
        if ":" not in item.value:
            continue  # reported as malformed already
        pattern = re.compile(_glob(item.value.lower()))
        if not any(pattern.fullmatch(a) for a in _TRUST):
            checker.add("error", "trust-action", item,
                     f"{item.value!r} is not an action a trust policy can allow "
                     "(sts:AssumeRole*, sts:TagSession, sts:SetSourceIdentity, "
                     "sts:SetContext)", field="Action")


def _glob(pattern: str) -> str:
    return "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
