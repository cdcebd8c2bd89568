"""An AWS Organizations design as data: a YAML file <-> a frozen :class:`Design` <-> a live org.

Introduced in ``notebooks/01-organizations``. A design names the root, nested OUs, the
accounts in each (name, email, purpose, tags), the management account, the enabled policy
types, and the policies attached at every node. Policies are named: ``FullAWSAccess`` and
``RCPFullAWSAccess`` (AWS managed), a file in the policy library
``labkit/data/policies/NAME.json``, or an inline policy in the design's ``policies:`` list.

The file format (``labkit/data/designs/recommended.yaml`` is a full example)::

    policy_types: [SCP, RCP]          # enabled at the root; default none
    management: {name: management, purpose: ..., tags: {...}, policies: [...]}
    root:
      policies: [FullAWSAccess, deny-root-user]
      accounts: [{name: ..., email: ..., purpose: ..., tags: {...}, policies: [...]}]
      ous:
        - {name: Workloads, policies: [...], accounts: [...], ous: [...]}
    policies:                         # inline policies, referred to by name
      - {name: ..., type: SCP, description: ..., document: {...} or "JSON text"}

OUs nest by containment, so the only way to write a cycle is a YAML alias to an enclosing
OU (``- &w {name: W, ous: [*w]}``); it is reported as a cycle at the alias's line, and an
alias that places one OU or account under two parents is refused too.

How a node's ``policies:`` list is read (so that apply -> snapshot round-trips exactly):

- **SCPs.** If the list names no SCP, the node has ``FullAWSAccess`` only: AWS attaches it
  to the root and to every new OU and account while SCPs are enabled, and a node can never
  have zero SCPs. If the list names any SCP, it is the node's exact SCP set, so a deny-list
  node lists ``FullAWSAccess`` beside its Deny SCPs and an allow-list node leaves it out
  (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html,
  https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_strategies.html).
- **RCPs.** ``RCPFullAWSAccess`` is always attached while RCPs are enabled and cannot be
  detached; the RCPs listed are added to it
  (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps.html).
- The management account sits under the root. Its AWS name and email belong to the
  account itself (Organizations cannot change them), so the design gives it only the name
  ``management`` (how ``lab.session("management")`` finds it), a purpose, tags and policies.
- An account's ``purpose`` is stored on the account as the tag ``labkit:purpose``.

Designs compare by value. ``to_yaml()`` writes the shortest form of the rules above.

>>> d = load_design({"policy_types": ["SCP"], "root": {"ous": [{"name": "Security"}]}})
>>> [ou.name for ou in d.root.ous], [p.name for p in d.root.ous[0].policies]
(['Security'], ['FullAWSAccess'])
>>> load_design(d.to_yaml_dict()) == d
True
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from labkit.quotas import RCP_TYPE, SCP_TYPE

__all__ = [
    "Account",
    "Design",
    "DesignError",
    "OU",
    "PolicyRef",
    "Problem",
    "apply_design",
    "bundled_designs",
    "generated_design",
    "load_design",
    "snapshot",
    "validate_command",
]

DESIGNS_DIR = Path(__file__).parent / "data" / "designs"
PURPOSE_TAG = "labkit:purpose"
POLICY_TYPE_NAMES = {"SCP": SCP_TYPE, "RCP": RCP_TYPE}
AWS_MANAGED = {"FullAWSAccess": "SCP", "RCPFullAWSAccess": "RCP"}


@dataclass(frozen=True, kw_only=True)
class PolicyRef:
    """A policy attached somewhere: its name, type (``SCP``/``RCP``) and where it comes from.

    ``source`` is ``aws-managed``, ``library`` or ``inline``; ``content`` is the compact JSON
    document sent to AWS (empty for AWS-managed policies, whose text AWS owns).
    """

    name: str
    type: str
    source: str
    description: str = ""
    content: str = ""

    @property
    def is_default(self) -> bool:
        """True for the AWS-managed policies that AWS attaches by itself."""
        return self.source == "aws-managed"


@dataclass(frozen=True, kw_only=True)
class Account:
    """An AWS account in the design. ``tags`` are sorted (key, value) pairs."""

    name: str
    email: str | None = None
    purpose: str = ""
    tags: tuple[tuple[str, str], ...] = ()
    policies: tuple[PolicyRef, ...] = ()


@dataclass(frozen=True, kw_only=True)
class OU:
    """An organizational unit (or the root, named ``Root``) with its children, sorted by name."""

    name: str
    ous: tuple["OU", ...] = ()
    accounts: tuple[Account, ...] = ()
    policies: tuple[PolicyRef, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Design:
    """A whole organization: enabled policy types, the management account and the root tree.

    ``name`` (the file it came from) is a label only and takes no part in equality.
    """

    policy_types: tuple[str, ...]
    management: Account
    root: OU
    name: str = field(default="design", compare=False)

    def walk(self) -> Iterator[tuple[str, OU]]:
        """Yield ``(path, ou)`` for the root (path ``Root``) and every OU, parents first."""
        stack = [("Root", self.root)]
        while stack:
            path, ou = stack.pop(0)
            yield path, ou
            stack[0:0] = [(f"{path}/{c.name}", c) for c in ou.ous]

    @property
    def accounts(self) -> tuple[Account, ...]:
        """Every member account (management excluded), in tree order."""
        return tuple(a for _, ou in self.walk() for a in ou.accounts)

    @property
    def policies(self) -> tuple[PolicyRef, ...]:
        """Every distinct policy used anywhere, sorted by (type, name)."""
        seen = {p for _, ou in self.walk() for p in ou.policies}
        seen |= {p for a in self.accounts + (self.management,) for p in a.policies}
        return tuple(sorted(seen, key=lambda p: (p.type, p.name)))

    def to_yaml_dict(self) -> dict[str, Any]:
        """The design as plain data in the file format (shortest form), loadable again."""
        import json

        out: dict[str, Any] = {"policy_types": list(self.policy_types)}
        management = _account_dict(self.management)
        management.pop("email", None)
        out["management"] = management
        out["root"] = _ou_dict(self.root, is_root=True)
        inline = [p for p in self.policies if p.source == "inline"]
        if inline:
            out["policies"] = [{"name": p.name, "type": p.type, "description": p.description,
                                "document": json.loads(p.content)} for p in inline]
        return out

    def to_yaml(self) -> str:
        """The design as YAML text, deterministic (same design, same bytes)."""
        import yaml

        return yaml.safe_dump(self.to_yaml_dict(), sort_keys=False, default_flow_style=False,
                              allow_unicode=True, width=100)


def _policy_names(policies: tuple[PolicyRef, ...]) -> list[str]:
    scps = [p for p in policies if p.type == "SCP"]
    names = [] if [p.name for p in scps] == ["FullAWSAccess"] else [p.name for p in scps]
    return names + [p.name for p in policies if p.type == "RCP" and p.name != "RCPFullAWSAccess"]


def _account_dict(a: Account) -> dict[str, Any]:
    d: dict[str, Any] = {"name": a.name}
    if a.email is not None:
        d["email"] = a.email
    if a.purpose:
        d["purpose"] = a.purpose
    if a.tags:
        d["tags"] = dict(a.tags)
    if names := _policy_names(a.policies):
        d["policies"] = names
    return d


def _ou_dict(ou: OU, is_root: bool = False) -> dict[str, Any]:
    d: dict[str, Any] = {} if is_root else {"name": ou.name}
    if names := _policy_names(ou.policies):
        d["policies"] = names
    if ou.accounts:
        d["accounts"] = [_account_dict(a) for a in ou.accounts]
    if ou.ous:
        d["ous"] = [_ou_dict(c) for c in ou.ous]
    return d


@dataclass(frozen=True, kw_only=True)
class Problem:
    """One thing wrong with a design, and where: ``file:line`` (or ``<design>:path``)."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class DesignError(ValueError):
    """A design that cannot be built; ``problems`` lists every problem found, in file order."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]):
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def bundled_designs() -> list[str]:
    """Names of the designs shipped in ``labkit/data/designs``.

    >>> "recommended" in bundled_designs()
    True
    """
    return sorted(p.stem for p in DESIGNS_DIR.glob("*.yaml"))


def load_design(source: "str | Path | dict | Design", *, quotas=None) -> Design:
    """Read and validate a design; raise :class:`DesignError` listing every problem.

    ``source`` is a bundled design name (``"recommended"``), a path to a YAML file, plain
    data in the same shape, or a :class:`Design` (returned as is). Nothing is built here.
    ``quotas`` picks the Organizations quotas the design is checked against
    (:mod:`labkit.quotas`; default: the documented ones).
    """
    from labkit.design_check import build_design
    from labkit.design_yaml import parse_text, wrap_data

    if isinstance(source, Design):
        return source
    try:
        if isinstance(source, dict):
            return build_design(wrap_data(source), name="design", quotas=quotas)
        path = Path(source)
        if not path.suffix and not path.exists() and (DESIGNS_DIR / f"{source}.yaml").exists():
            path = DESIGNS_DIR / f"{source}.yaml"
        if not path.exists():
            from labkit.suggest import did_you_mean

            raise DesignError([Problem(where=str(source), message=(
                f"no such design file; bundled designs are {', '.join(bundled_designs())}"
                + did_you_mean(str(source), bundled_designs())))])
        return build_design(parse_text(_read_text(path), str(path)), name=path.stem,
                            quotas=quotas)
    except ValueError as exc:
        if isinstance(exc, DesignError):
            raise
        if len(exc.args) == 2 and isinstance(exc.args[1], list):
            raise DesignError([Problem(where=p.where, message=p.message) for p in exc.args[1]]) from None
        raise


def _read_text(path: Path) -> str:
    """A design file's text, or a DesignError naming the file (a folder, unreadable, not UTF-8)."""
    if path.is_dir():
        raise DesignError([Problem(where=str(path), message=(
            "is a directory, not a design file; give a .yaml file or a bundled design name"))])
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[:exc.start].count(b"\n") + 1
        raise DesignError([Problem(where=f"{path}:{line}", message=(
            f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x}); save the design as UTF-8"))]) from None
    except OSError as exc:
        raise DesignError([Problem(where=str(path), message=(
            f"cannot read the design file: {exc.strerror}"))]) from None


def apply_design(lab, design) -> "Any":
    """Build ``design`` in ``lab`` with real boto3 Organizations calls (see :mod:`labkit.design_apply`)."""
    from labkit.design_apply import apply_design as _apply

    return _apply(lab, design)


def snapshot(session) -> Design:
    """Read the organization a boto3 session can see back into a :class:`Design` (read-only)."""
    from labkit.snapshot import snapshot as _snapshot

    return _snapshot(session)


def validate_command(argv: list[str]) -> int:
    """``labkit validate DESIGN``: print every problem (file:line: message) and exit 1, or a summary."""
    import argparse

    from labkit.suggest import plural

    parser = argparse.ArgumentParser(prog="labkit validate",
                                     description="Check an organization design before building it.")
    parser.add_argument("design", help="a design file, or a bundled design name: "
                        + ", ".join(bundled_designs()))
    args = parser.parse_args(argv)
    try:
        design = load_design(args.design)
    except DesignError as exc:
        for p in exc.problems:
            print(p)
        print(f"{plural(len(exc.problems), 'problem')} in {args.design}", file=sys.stderr)
        return 1
    ous = sum(1 for _ in design.walk()) - 1
    print(f"{args.design}: OK: {plural(ous, 'OU')}, {plural(len(design.accounts) + 1, 'account')} "
          f"(management included), {plural(len(design.policies), 'policy', 'policies')}, "
          f"policy types {', '.join(design.policy_types) or 'none'}")
    return 0



def generated_design(*, ous: int = 50, accounts: int = 1000, policy_types=("SCP", "RCP")) -> Design:
    """A large, regular design for benchmarks and diagrams: ``ous`` OUs under five top-level
    OUs, ``accounts`` accounts spread evenly over them.

    >>> d = generated_design(ous=10, accounts=25)
    >>> sum(1 for _ in d.walk()) - 1, len(d.accounts)
    (10, 25)
    """
    tops = min(5, ous)
    children = [[] for _ in range(tops)]
    for i in range(ous - tops):
        children[i % tops].append({"name": f"team-{i:03d}", "accounts": []})
    top = [{"name": f"division-{t}", "accounts": [], "ous": children[t]} for t in range(tops)]
    leaves = [o for t in top for o in [t] + t["ous"]]
    for n in range(accounts):
        leaves[n % len(leaves)]["accounts"].append(
            {"name": f"acct-{n:04d}", "email": f"acct-{n:04d}@example.com"})
    design = load_design({"policy_types": list(policy_types), "root": {"ous": top}})
    return Design(policy_types=design.policy_types, management=design.management,
                  root=design.root, name=f"generated-{ous}-ous-{accounts}-accounts")
