"""Validate a design file's values and build the :class:`~labkit.design.Design`, or report every problem.

Each rule names the AWS page that defines it:

- OUs nest at most five levels below the root, and at most five SCPs attach to a root, OU
  or account; SCP and RCP documents are at most 5,120 characters
  (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_reference_limits.html);
  the same page's limit of five policies applies to RCPs here (AWS-FACTS 1.1: unconfirmed).
  These numbers come from the quota set passed as ``build_design(..., quotas=...)``
  (:mod:`labkit.quotas`; default :data:`~labkit.quotas.DOCUMENTED`; ``MAY_2026`` allows
  10 SCPs per target and 10,240 characters per SCP).
- Two OUs under one parent cannot share a name (``DuplicateOrganizationalUnitException``,
  https://docs.aws.amazon.com/organizations/latest/APIReference/API_CreateOrganizationalUnit.html).
- An account's email must be unique and 6-64 characters, its name 1-50 characters
  (``EMAIL_ALREADY_EXISTS``,
  https://docs.aws.amazon.com/organizations/latest/APIReference/API_CreateAccount.html).
- A policy type must be enabled before policies of that type attach
  (``PolicyTypeNotEnabledException``,
  https://docs.aws.amazon.com/organizations/latest/APIReference/API_AttachPolicy.html).
- Account names are unique within a design, and ``management`` is reserved for the
  management account: a lab rule (names are how ``lab.session`` finds accounts), not an
  AWS one.

Misspelt names (a key, a policy, a policy type) get a "did you mean" hint
(:mod:`labkit.suggest`); how ``policy_types`` is read and reported is
:mod:`labkit.design_policy_types`.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

from labkit.design import (AWS_MANAGED, OU, Account, Design, DesignError, PolicyRef,
                           Problem)
from labkit.design_policy_types import read_policy_types, report_not_enabled
from labkit.design_yaml import Located
from labkit.quotas import DOCUMENTED, OrganizationsQuotas, quotas_named
from labkit.suggest import did_you_mean

__all__ = ["build_design", "library_documents", "library_policies"]

LIBRARY_DIR = Path(__file__).parent / "data" / "policies"
_EMAIL = re.compile(r"^[^\s@]+@[^\s@]+\.[^\s@]+$")  # CreateAccount Email pattern

TOP_KEYS = {"policy_types", "management", "root", "policies", "description"}
MANAGEMENT_KEYS = {"name", "purpose", "tags", "policies"}
ROOT_KEYS = {"policies", "accounts", "ous"}
OU_KEYS = {"name", "policies", "accounts", "ous"}
ACCOUNT_KEYS = {"name", "email", "purpose", "tags", "policies"}
POLICY_KEYS = {"name", "type", "description", "document"}


def compact(document) -> str:
    """The compact JSON text labkit sends to AWS for a policy document."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


@lru_cache(maxsize=1)
def library_policies() -> dict[str, tuple[PolicyRef | None, str]]:
    """The policy library, read once: name -> (PolicyRef, "") or (None, problem text)."""
    out: dict[str, tuple[PolicyRef | None, str]] = {}
    for path in sorted(LIBRARY_DIR.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            out[path.stem] = (None, f"{path}:{exc.lineno}: malformed policy JSON: {exc.msg}")
            continue
        kind = data.get("type") if isinstance(data, dict) else None
        doc = data.get("document") if isinstance(data, dict) else None
        if kind not in ("SCP", "RCP") or not isinstance(doc, dict):
            out[path.stem] = (None, f"{path}:1: library policy needs \"type\" SCP or RCP "
                                    "and a \"document\" object")
            continue
        out[path.stem] = (PolicyRef(name=path.stem, type=kind, source="library",
                                    description=str(data.get("description", ""))[:512],
                                    content=compact(doc)), "")
    return out


def library_documents() -> tuple[tuple[PolicyRef, dict], ...]:
    """Each well-formed library policy with its document decoded (for matching a live
    organization's policies against the library by content); call it once per use."""
    return tuple((ref, json.loads(ref.content))
                 for ref, _ in library_policies().values() if ref is not None)


class _Checker:
    def __init__(self, quotas: OrganizationsQuotas = DOCUMENTED) -> None:
        self.quotas = quotas
        self.problems: list[Problem] = []
        self.seen_nodes: dict[int, str] = {}
        self.not_enabled: dict[str, list[tuple[str, str]]] = {}  # type -> [(where, policy)]
        self.types_misspelt = False  # a key close to 'policy_types' was written instead

    def bad(self, where: str, message: str) -> None:
        self.problems.append(Problem(where=where, message=message))

    def mapping(self, node: Located | None, keys: set[str], what: str) -> dict[str, Located]:
        if node is None or node.value is None:
            return {}
        if not isinstance(node.value, dict):
            self.bad(node.where, f"{what} must be a mapping")
            return {}
        for key, value in node.value.items():
            if key not in keys:
                hint = did_you_mean(key, keys)
                if "policy_types" in hint:
                    self.types_misspelt = True
                self.bad(node.keys.get(key, value.where), f"unknown key {key!r} in {what}"
                         + (hint or f" (expected one of {', '.join(sorted(keys))})"))
        if node.identity:
            if node.identity in self.seen_nodes:
                self.bad(node.where, f"{what} is placed again here through a YAML alias (first at "
                                     f"{self.seen_nodes[node.identity]}): each OU and account "
                                     "has exactly one parent")
            self.seen_nodes.setdefault(node.identity, node.where)
        return node.value

    def items(self, node: Located | None, what: str) -> list[Located]:
        if node is None or node.value is None:
            return []
        if not isinstance(node.value, list):
            self.bad(node.where, f"{what} must be a list")
            return []
        return node.value

    def text(self, node: Located | None, what: str, where: str, *, required=True,
             max_len: int | None = None) -> str | None:
        if node is None or node.value is None:
            if required:
                self.bad(where, f"{what} is required")
            return None
        if not isinstance(node.value, str) or not node.value.strip():
            self.bad(node.where, f"{what} must be a non-empty string, not {node.value!r}")
            return None
        if max_len and len(node.value) > max_len:
            self.bad(node.where, f"{what} {node.value!r} is over {max_len} characters")
        return node.value


def build_design(top: Located, *, name: str = "design",
                 quotas: OrganizationsQuotas | str | None = None) -> Design:
    """Check every rule on the located values; return the Design or raise DesignError.

    ``quotas`` is the Organizations quota set (:func:`labkit.quotas.quotas_named`: a set,
    its name, or None for the documented one).
    """
    c = _Checker(quotas_named(quotas))
    data = c.mapping(top, TOP_KEYS, "the design")
    types = read_policy_types(c, data.get("policy_types"))
    inline = _inline_policies(c, data.get("policies"))
    resolve = _resolver(c, inline, types)
    mgmt = c.mapping(data.get("management"), MANAGEMENT_KEYS, "management")
    mgmt_where = data["management"].where if "management" in data else top.where
    if "name" in mgmt and mgmt["name"].value != "management":
        c.bad(mgmt["name"].where, f"the management account is named 'management' in a design "
                                  f"(lab.session('management')), not {mgmt['name'].value!r}: "
                                  "its AWS name belongs to the account, not to Organizations")
    management = Account(
        name="management",
        purpose=c.text(mgmt.get("purpose"), "purpose", mgmt_where, required=False) or "",
        tags=_tags(c, mgmt.get("tags")),
        policies=resolve(mgmt.get("policies"), mgmt_where, "management"))
    names: dict[str, str] = {management.name: mgmt_where}
    emails: dict[str, str] = {}
    root_node = data.get("root")
    if root_node is None:
        c.bad(top.where, "the design needs a 'root' mapping")
    root = _ou(c, root_node, depth=0, resolve=resolve, names=names, emails=emails,
               where=root_node.where if root_node else top.where)
    report_not_enabled(c, "policy_types" in data)
    if c.problems:
        c.problems.sort(key=_order)
        raise DesignError(c.problems)
    return Design(policy_types=types, management=management, root=root, name=name)


def _order(p: Problem):
    file, _, line = p.where.rpartition(":")
    return (file, int(line)) if line.isdigit() else (file, 0)


def _inline_policies(c: _Checker, node: Located | None) -> dict[str, PolicyRef | None]:
    out: dict[str, PolicyRef | None] = {}  # None: defined, but broken (already reported)
    for item in c.items(node, "policies"):
        d = c.mapping(item, POLICY_KEYS, "an inline policy")
        name = c.text(d.get("name"), "policy name", item.where, max_len=128)
        kind = d.get("type")
        if kind is None or kind.value not in ("SCP", "RCP"):
            c.bad(kind.where if kind else item.where, "inline policy type must be SCP or RCP")
        desc = d["description"].value if "description" in d else ""
        if not isinstance(desc, str) or len(desc) > 512:
            c.bad(d["description"].where, "description must be a string of at most 512 characters")
            desc = ""
        content = _document(c, d.get("document"), item.where, name,
                            kind.value if kind is not None else None)
        if name in AWS_MANAGED:
            c.bad(item.where, f"{name!r} is AWS managed; an inline policy cannot take its name")
            continue
        if name in out:
            c.bad(item.where, f"inline policy {name!r} is defined twice")
            continue
        ok = bool(name and kind and kind.value in ("SCP", "RCP") and content is not None)
        if ok and _grammar_problems(c, d["document"], name, kind.value, content):
            ok = False
        if name:
            out[name] = PolicyRef(name=name, type=kind.value, source="inline",
                                  description=desc, content=content) if ok else None
    return out


def _grammar_problems(c: _Checker, node: Located, name: str, kind: str, content: str) -> bool:
    """Run the policy validator (:mod:`labkit.policy`) on an inline document; report its errors.

    SCP and RCP grammar (Version, Principal rules, RCPs Deny-only, ...) is the policy
    validator's to define; its messages carry their own AWS citations.
    """
    import json as _json

    from labkit.policy import validate_policy

    errors = [p for p in validate_policy(_json.loads(content), kind.lower())
              if p.severity == "error" and p.code != "policy-too-large"]
    for p in errors:
        where = node.where
        statements = node.value.get("Statement") if isinstance(node.value, dict) else None
        if p.statement is not None and statements is not None:
            items = statements.value if isinstance(statements.value, list) else [statements]
            if p.statement < len(items):
                where = items[p.statement].where
        c.bad(where, f"policy {name!r}: {p.message}")
    return bool(errors)


def _plain(node: Located):
    if isinstance(node.value, dict):
        return {k: _plain(v) for k, v in node.value.items()}
    if isinstance(node.value, list):
        return [_plain(v) for v in node.value]
    return node.value


def _document(c: _Checker, node: Located | None, where: str, name, kind) -> str | None:
    if node is None:
        c.bad(where, f"inline policy {name!r} needs a document")
        return None
    doc = _plain(node)
    if isinstance(doc, str):
        try:
            doc = json.loads(doc)
        except json.JSONDecodeError as exc:
            line = node.where.rpartition(":")[2]
            at = f" (line {exc.lineno} of the JSON text)" if line.isdigit() else ""
            c.bad(node.where, f"malformed policy JSON in {name!r}: {exc.msg}{at}")
            return None
    if not isinstance(doc, dict) or "Statement" not in doc:
        c.bad(node.where, f"policy {name!r} must be a JSON object with a Statement")
        return None
    content = compact(doc)
    limit = c.quotas.max_characters(kind) if isinstance(kind, str) else None
    if limit is not None and len(content) > limit:
        c.bad(node.where, f"policy {name!r} is {len(content)} characters; AWS allows "
                          f"{limit} for an {kind} (quota set {c.quotas.name!r})")
    return content


def _resolver(c: _Checker, inline: dict[str, PolicyRef], types: tuple[str, ...]):
    def resolve(node: Located | None, where: str, target: str) -> tuple[PolicyRef, ...]:
        listed: list[PolicyRef] = []
        for item in c.items(node, f"policies of {target}"):
            ref = _lookup(c, item, inline)
            if ref is None:
                continue
            if ref.type not in types:
                c.not_enabled.setdefault(ref.type, []).append((item.where, ref.name))
            elif ref in listed:
                c.bad(item.where, f"{ref.name!r} is listed twice on {target}")
            else:
                listed.append(ref)
        scps = [p for p in listed if p.type == "SCP"]
        if "SCP" in types and not scps:
            scps = [PolicyRef(name="FullAWSAccess", type="SCP", source="aws-managed")]
        rcps = [p for p in listed if p.type == "RCP" and p.name != "RCPFullAWSAccess"]
        if "RCP" in types:
            rcps.insert(0, PolicyRef(name="RCPFullAWSAccess", type="RCP", source="aws-managed"))
        for kind, got in (("SCP", scps), ("RCP", rcps)):
            limit = c.quotas.max_per_target(kind)
            if len(got) > limit:
                c.bad(node.where if node else where,
                      f"{target} has {len(got)} {kind}s attached; AWS allows at most "
                      f"{limit} per root, OU or account (quota set {c.quotas.name!r})")
        return tuple(sorted(scps + rcps, key=lambda p: (p.type, p.name)))
    return resolve


def _lookup(c: _Checker, item: Located, inline: dict[str, PolicyRef]) -> PolicyRef | None:
    name = item.value
    if not isinstance(name, str):
        c.bad(item.where, f"a policy is referred to by name, not {name!r}")
        return None
    if name in inline:
        return inline[name]  # None when the definition is broken: reported there, not here
    if name in AWS_MANAGED:
        return PolicyRef(name=name, type=AWS_MANAGED[name], source="aws-managed")
    ref, problem = library_policies().get(name, (None, ""))
    if ref is None:
        hint = did_you_mean(name, [*inline, *AWS_MANAGED, *library_policies()])
        c.bad(item.where, problem or f"unknown policy {name!r}: not AWS managed, not inline, "
                                     f"and no {LIBRARY_DIR.name}/{name}.json in the library{hint}")
    return ref


def _tags(c: _Checker, node: Located | None) -> tuple[tuple[str, str], ...]:
    out = []
    for key, value in _tag_items(c, node):
        if key == "labkit:purpose":
            c.bad(value.where, "the tag labkit:purpose is written from 'purpose'; set that instead")
        elif not 1 <= len(key) <= 128 or key.startswith("aws:"):
            c.bad(value.where, f"tag key {key!r} must be 1-128 characters, not starting aws:")
        elif not isinstance(value.value, str) or len(value.value) > 256:
            c.bad(value.where, f"tag {key!r} needs a string value of at most 256 characters")
        else:
            out.append((key, value.value))
    return tuple(sorted(out))


def _tag_items(c: _Checker, node: Located | None):
    if node is None or node.value is None:
        return []
    if not isinstance(node.value, dict):
        c.bad(node.where, "tags must be a mapping of key: value")
        return []
    return list(node.value.items())


def _ou(c: _Checker, node: Located | None, *, depth: int, resolve, names, emails,
        where: str) -> OU:
    d = c.mapping(node, ROOT_KEYS if depth == 0 else OU_KEYS, "the root" if depth == 0 else "an OU")
    name = "Root" if depth == 0 else (c.text(d.get("name"), "OU name", where, max_len=128) or "?")
    if depth > c.quotas.ou_depth:
        c.bad(where, f"OU {name!r} is {depth} levels below the root; AWS allows at most "
                     f"{c.quotas.ou_depth}")
    policies = resolve(d.get("policies"), where, "the root" if depth == 0 else f"OU {name!r}")
    children: list[OU] = []
    for child in c.items(d.get("ous"), f"ous of {name}"):
        ou = _ou(c, child, depth=depth + 1, resolve=resolve, names=names, emails=emails,
                 where=child.where)
        if any(o.name == ou.name for o in children):
            c.bad(child.where, f"two OUs named {ou.name!r} under {name!r} "
                               "(DuplicateOrganizationalUnitException)")
        children.append(ou)
    accounts = [_account(c, a, resolve, names, emails) for a in
                c.items(d.get("accounts"), f"accounts of {name}")]
    return OU(name=name, ous=tuple(sorted(children, key=lambda o: o.name)),
              accounts=tuple(sorted(accounts, key=lambda a: a.name)),
              policies=policies)


def _account(c: _Checker, node: Located, resolve, names, emails) -> Account:
    d = c.mapping(node, ACCOUNT_KEYS, "an account")
    name = c.text(d.get("name"), "account name", node.where, max_len=50) or "?"
    email = c.text(d.get("email"), f"email of account {name!r}", node.where)
    if name == "management":
        c.bad(node.where, "the account name 'management' is reserved for the management "
                          "account (lab.session('management')); give this account another name")
    elif name in names:
        c.bad(node.where, f"duplicate account name {name!r} (first at {names[name]})")
    names.setdefault(name, node.where)
    if email:
        if not (6 <= len(email) <= 64 and _EMAIL.match(email)):
            c.bad(d["email"].where, f"email {email!r} is not a valid account email (6-64 chars)")
        key = email.lower()
        if key in emails:
            c.bad(d["email"].where, f"duplicate email {email!r} (first at {emails[key]}); "
                                    "AWS refuses it with EMAIL_ALREADY_EXISTS")
        emails.setdefault(key, d["email"].where)
    return Account(name=name, email=email,
                   purpose=c.text(d.get("purpose"), "purpose", node.where, required=False) or "",
                   tags=_tags(c, d.get("tags")),
                   policies=resolve(d.get("policies"), node.where, f"account {name!r}"))
