"""Validate a policy document as AWS would, pointing at the line and column of each mistake.

Introduced in ``notebooks/02-guardrails.ipynb``. The grammar is IAM's
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html and the
element reference, https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements.html);
each policy type then narrows it, and each rule below names the page that defines it.

>>> problems = validate_policy('{"Statement": {"Effect": "Permit", "Action": "s3:GetObject",'
...                            ' "Resource": "*"}}', source="p.json")
>>> for problem in problems:
...     print(problem)
p.json:1:1: warning: Version: no Version; IAM then uses 2008-10-17, which has no policy variables
p.json:1:26: error: Statement[0] Effect: must be "Allow" or "Deny", not 'Permit'
"""
from __future__ import annotations

import json

from labkit.policy.checks import Checker
from labkit.policy.locations import JsonSyntaxError, Node, locate
from labkit.policy.problems import PolicyValidationError, Problem
from labkit.quotas import DOCUMENTED, OrganizationsQuotas, quotas_named

__all__ = ["POLICY_TYPES", "Problem", "PolicyValidationError", "check_policy",
           "validate_command", "validate_policy"]

POLICY_TYPES = ("scp", "rcp", "identity", "resource", "trust")
_FILE_TYPES = {"SCP": "scp", "RCP": "rcp", "identity": "identity", "resource": "resource",
               "trust": "trust"}
_FILE_KEYS = ("name", "type", "description", "threat", "sources", "document")

#: SCP and RCP size limit, in characters, in the default quota set (kept for older
#: callers; the check reads ``quotas``), https://docs.aws.amazon.com/organizations/latest/userguide/orgs_reference_limits.html.
SIZE_LIMIT = DOCUMENTED.scp_characters


def validate_policy(document: str | dict, policy_type: str | None = None, *,
                    source: str | None = None, syntax: str = "2025",
                    quotas: OrganizationsQuotas = DOCUMENTED) -> list[Problem]:
    """Every problem in a policy document, in the order they appear; ``[]`` if it is clean.

    ``document`` is JSON text (positions refer to it) or an already-parsed ``dict``
    (positions refer to ``json.dumps(document, indent=2)``). It may be a bare policy or a
    labkit policy file (an object with ``name``, ``type``, ``description``, ``threat``,
    ``sources`` and ``document``); a file's ``document`` is validated, with positions in the
    file, and its ``type`` is used unless ``policy_type`` is given. A bare policy with no
    ``policy_type`` is validated as an ``identity`` policy.

    ``policy_type`` is one of ``scp``, ``rcp``, ``identity``, ``resource``, ``trust``.
    ``syntax`` is ``"2025"`` (SCPs with the full IAM language, since 19 September 2025) or
    ``"pre-2025"`` (the older SCP rules); it only changes SCP checks.

    Size (SCPs and RCPs, at most 5,120 characters, https://docs.aws.amazon.com/organizations/latest/userguide/orgs_reference_limits.html;
    ``quotas`` picks the set, :mod:`labkit.quotas`: ``MAY_2026`` allows 10,240 for an SCP):
    AWS counts every character of the ``Content`` string sent to CreatePolicy, whitespace
    included (the console strips it first). Counted here: the text itself for a bare policy
    given as text, which is what would be sent; for a ``dict`` or a labkit policy file, the
    compact form ``json.dumps(document, separators=(",", ":"), ensure_ascii=False)``, which is
    what labkit sends.

    >>> [p.code for p in validate_policy('{"Version": "2012-10-17", "Statement": '
    ...     '{"Effect": "Deny", "Action": "*", "Resource": "*", "Principal": "*"}}', "scp")]
    ['principal-forbidden']
    """
    return _validate(document, policy_type, source=source, syntax=syntax, require_type=False,
                     quotas=quotas)


def check_policy(document: str | dict, policy_type: str | None = None, *,
                 source: str | None = None, syntax: str = "2025",
                 quotas: OrganizationsQuotas = DOCUMENTED) -> None:
    """Raise :class:`PolicyValidationError` if the policy has any error (warnings pass).

    >>> check_policy('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
    ...              '"Action": "s3:GetObject", "Resource": "*"}]}', "identity")
    """
    problems = validate_policy(document, policy_type, source=source, syntax=syntax,
                               quotas=quotas)
    if any(p.severity == "error" for p in problems):
        raise PolicyValidationError(problems)


def _validate(document: str | dict, policy_type: str | None, *, source: str | None,
              syntax: str, require_type: bool,
              quotas: OrganizationsQuotas = DOCUMENTED) -> list[Problem]:
    if policy_type is not None and policy_type not in POLICY_TYPES:
        raise ValueError(f"policy_type must be one of {', '.join(POLICY_TYPES)}, "
                         f"not {policy_type!r}")
    if syntax not in ("2025", "pre-2025"):
        raise ValueError(f'syntax must be "2025" or "pre-2025", not {syntax!r}')
    if not isinstance(quotas, OrganizationsQuotas):
        raise TypeError(f"quotas must be an OrganizationsQuotas (labkit.quotas), not {quotas!r}")
    source = source or "<policy>"
    text = document if isinstance(document, str) else json.dumps(document, indent=2)
    fail = Checker(policy_type=policy_type or "identity", syntax=syntax, source=source,
                    exempt_allow=False)
    try:
        root = locate(text)
    except JsonSyntaxError as error:
        fail.add("error", "json-syntax", (error.line, error.column),
                 f"not valid JSON: {error.reason}")
        return fail.problems
    policy, counted, exempt = root, text, False
    if root.kind == "object" and "document" in root.members and "Statement" not in root.members:
        policy, file_type, exempt = _policy_file(root, fail)
        if policy is None:
            return fail.problems
        if policy_type is None:
            policy_type = file_type
        counted = json.dumps(policy.plain(), separators=(",", ":"), ensure_ascii=False)
    elif policy_type is None and require_type:
        fail.add("error", "type-required", root,
                 "not a labkit policy file, so give the policy type (--type)")
        return fail.problems
    elif not isinstance(document, str):
        counted = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    exempt = exempt or _is_rcp_full_aws_access(policy)
    checker = Checker(policy_type=policy_type or "identity", syntax=syntax, source=source,
                       exempt_allow=exempt)
    checker.problems = fail.problems
    limit = quotas.max_characters(checker.type)
    if limit is not None and len(counted) > limit:
        kind = checker.type.upper()
        page = quotas.source(f"{checker.type}_characters")
        checker.add("error", "policy-too-large", policy,
                    f"{len(counted):,} characters; an {kind} may have at most {limit:,}, "
                    f"whitespace included ({page}; quota set {quotas.name!r})")
    checker.document(policy)
    return sorted(checker.problems, key=lambda p: (p.line, p.column))


def _is_rcp_full_aws_access(policy: Node) -> bool:
    """Whether the document is AWS's own RCPFullAWSAccess, the one RCP that may Allow.

    Its content is one statement allowing every principal every action on every resource
    (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps.html).
    A document with exactly that content is taken to be it; any other Allow is custom.
    """
    if policy.kind != "object":
        return False
    statements = policy.plain().get("Statement")
    if isinstance(statements, list) and len(statements) == 1:
        statements = statements[0]
    if not isinstance(statements, dict):
        return False
    statements.pop("Sid", None)
    return statements == {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}


def _policy_file(root: Node, checker: Checker) -> tuple[Node | None, str | None, bool]:
    """Check a labkit policy file's own fields; return its document node and type."""
    m = root.members
    for key in m:
        if key not in _FILE_KEYS:
            checker.add("error", "policy-file-unknown-key", root.keys[key],
                        f"unknown policy file key {key!r}; expected {', '.join(_FILE_KEYS)}",
                        field=key)
    for key in ("name", "type", "description", "sources"):
        if key not in m:
            checker.add("error", "policy-file-missing", root,
                        f"a labkit policy file needs {key!r}", field=key)
    for key in ("name", "description"):
        if key in m and (m[key].kind != "string" or not m[key].value.strip()):
            checker.add("error", "policy-file-missing", m[key],
                        f"{key!r} must be a non-empty string", field=key)
    sources = m.get("sources")
    if sources is not None and (sources.kind != "array" or not sources.items
                                or any(s.kind != "string" for s in sources.items)):
        checker.add("error", "policy-file-missing", sources,
                    "'sources' must be a non-empty list of URLs (the AWS pages it follows)",
                    field="sources")
    file_type = None
    if "type" in m:
        file_type = _FILE_TYPES.get(m["type"].value) if m["type"].kind == "string" else None
        if file_type is None:
            checker.add("error", "policy-file-type", m["type"],
                        f"type must be one of {', '.join(_FILE_TYPES)}", field="type")
    name = m.get("name")
    exempt = name is not None and name.value == "RCPFullAWSAccess"
    return m["document"], file_type, exempt


def validate_command(argv: list[str]) -> int:
    """``labkit policy validate FILE [FILE...] [--type TYPE] [--syntax 2025|pre-2025]
    [--quotas documented|may-2026]``.

    Prints each problem as ``file:line:column: severity: ...`` and a summary; returns 1 if
    any file has an error, else 0 (2 for bad arguments).
    """
    import argparse

    parser = argparse.ArgumentParser(prog="labkit policy validate",
                                     description="Check policy documents as AWS would.")
    parser.add_argument("files", nargs="+", metavar="FILE")
    parser.add_argument("--type", choices=POLICY_TYPES, default=None,
                        help="policy type (optional for labkit policy files)")
    parser.add_argument("--syntax", choices=("2025", "pre-2025"), default="2025",
                        help="SCP language: full IAM (2025, default) or the older rules")
    parser.add_argument("--quotas", choices=("documented", "may-2026"), default="documented",
                        help="Organizations quota set for SCP/RCP sizes (labkit.quotas)")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    errors = warnings = 0
    for path in args.files:
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except (OSError, UnicodeDecodeError) as error:
            print(f"{path}: error: cannot read: {error}")
            errors += 1
            continue
        problems = _validate(text, args.type, source=path, syntax=args.syntax,
                             require_type=True, quotas=quotas_named(args.quotas))
        for problem in problems:
            print(problem)
        errors += sum(p.severity == "error" for p in problems)
        warnings += sum(p.severity == "warning" for p in problems)
    print(f"{errors} error(s), {warnings} warning(s) in {len(args.files)} file(s)")
    return 1 if errors else 0
