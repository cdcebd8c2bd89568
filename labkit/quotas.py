"""AWS Organizations quotas: one source of truth, and an explicit choice between two sets.

Introduced in ``notebooks/01-organizations.ipynb`` (the rules) and
``notebooks/02-guardrails.ipynb`` (policy sizes). Every Organizations rule in labkit reads
its numbers from one :class:`OrganizationsQuotas` value: the lab's rules read
``lab.quotas`` (``Lab(quotas=...)``), the policy validator and the design checker take a
``quotas=`` argument. The default everywhere is :data:`DOCUMENTED`.

Two sets, because the facts moved:

- :data:`DOCUMENTED` -- the numbers on AWS's quotas page as we captured it
  (:data:`QUOTAS_PAGE`): 5 SCPs attached to a root, OU or account and 5,120 characters per
  SCP, and what the project's issues and research notes (AWS-FACTS 1.1) state.
- :data:`MAY_2026` -- 10 SCPs per root, OU or account and 10,240 characters per SCP,
  reported as applied automatically by AWS on 15 May 2026. The AWS What's New post
  (:data:`WHATS_NEW_MAY_2026`) is cited by several public GitHub threads, among them the
  AWS Landing Zone Accelerator team raising its own default to 10 in its 1.16.0 release,
  but its text is not in the captured pages we can search; the detailed write-ups are
  third-party (:data:`MAY_2026_REPORTS`). Nothing we found says the RCP numbers changed, so
  this set keeps them.

>>> DOCUMENTED.scps_per_target, MAY_2026.scps_per_target
(5, 10)
>>> MAY_2026.max_characters("SERVICE_CONTROL_POLICY"), MAY_2026.max_characters("rcp")
(10240, 5120)
>>> quotas_named("may-2026") is MAY_2026
True
"""
from __future__ import annotations

from dataclasses import dataclass, fields

__all__ = [
    "DOCUMENTED",
    "MAY_2026",
    "MAY_2026_REPORTS",
    "OrganizationsQuotas",
    "QUOTAS_PAGE",
    "QUOTA_SETS",
    "RCP_TYPE",
    "SCP_TYPE",
    "WHATS_NEW_MAY_2026",
    "quotas_named",
]

#: AWS's quotas page for Organizations (the "Maximum and minimum values" table).
QUOTAS_PAGE = "https://docs.aws.amazon.com/organizations/latest/userguide/orgs_reference_limits.html"
#: CreateOrganizationalUnit: "For service control policies, the limit is five" (OU depth).
CREATE_OU_PAGE = "https://docs.aws.amazon.com/organizations/latest/APIReference/API_CreateOrganizationalUnit.html"
#: The AWS What's New post cited for the May 2026 change (text not captured; see module doc).
WHATS_NEW_MAY_2026 = "https://aws.amazon.com/about-aws/whats-new/2026/05/aws-organizations-increased-scp-quotas/"
#: Public reports of the May 2026 change: third-party write-ups, then GitHub threads that
#: cite the What's New post (one says the new size was "validated in an AWS account").
MAY_2026_REPORTS = (
    "https://cevo.com.au/post/aws-scp-limits-landing-zone-review/",
    "https://sjramblings.io/aws-organizations-scp-quotas-doubled-what-now/",
    "https://github.com/awslabs/landing-zone-accelerator-on-aws/pull/1120",
    "https://github.com/FogSecurity/aws-size/pull/71",
    "https://github.com/hashicorp/terraform-provider-aws/issues/38788",
)

#: The Organizations API's names of the two authorization policy types (PolicyType enum of
#: https://docs.aws.amazon.com/organizations/latest/APIReference/API_PolicySummary.html);
#: every labkit module names them from here.
SCP_TYPE = "SERVICE_CONTROL_POLICY"
RCP_TYPE = "RESOURCE_CONTROL_POLICY"

_TYPES = {"SERVICE_CONTROL_POLICY": "scp", "SCP": "scp", "scp": "scp",
          "RESOURCE_CONTROL_POLICY": "rcp", "RCP": "rcp", "rcp": "rcp"}


@dataclass(frozen=True, kw_only=True)
class OrganizationsQuotas:
    """One set of AWS Organizations quotas the lab enforces.

    Fields, each with the page that defines it (``page`` for the fields this set changes,
    :data:`QUOTAS_PAGE` for the rest; see :meth:`source`):

    - ``ou_depth``: OU levels below the root (quotas page; CreateOrganizationalUnit);
    - ``ous_per_organization``: OUs in one organization, the root not counted (quotas page);
    - ``scps_per_target`` / ``rcps_per_target``: policies of the type attached directly to
      one root, OU or account (quotas page; the RCP number is AWS-FACTS 1.1's unconfirmed
      assumption, used by the design checker only);
    - ``scp_characters`` / ``rcp_characters``: characters in one policy document,
      whitespace included when saved through the API (quotas page);
    - ``scps_per_organization`` / ``rcps_per_organization``: customer policies of the type
      in one organization, AWS managed ones not counted (quotas page).

    ``name`` is how :func:`quotas_named` finds the set; ``basis`` says in a sentence why
    these numbers are believed.
    """

    name: str
    basis: str
    page: str = QUOTAS_PAGE
    changed: tuple[str, ...] = ()
    ou_depth: int = 5
    ous_per_organization: int = 2_000
    scps_per_target: int = 5
    rcps_per_target: int = 5
    scp_characters: int = 5_120
    rcp_characters: int = 5_120
    scps_per_organization: int = 10_000
    rcps_per_organization: int = 1_000

    def __post_init__(self) -> None:
        numbers = [f.name for f in fields(self) if f.type in ("int", int)]
        for name in numbers:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"OrganizationsQuotas {self.name!r}: {name} must be a "
                                 f"positive integer, not {value!r}")
        unknown = [c for c in self.changed if c not in numbers]
        if unknown:
            raise ValueError(f"OrganizationsQuotas {self.name!r}: changed names unknown "
                             f"quota(s) {', '.join(unknown)}")

    def source(self, quota: str) -> str:
        """The page a quota of this set comes from.

        >>> MAY_2026.source("scp_characters") == WHATS_NEW_MAY_2026
        True
        >>> MAY_2026.source("rcp_characters") == QUOTAS_PAGE
        True
        """
        return self.page if quota in self.changed else QUOTAS_PAGE

    def _by_type(self, policy_type: str, what: str) -> int | None:
        kind = _TYPES.get(policy_type)
        return None if kind is None else getattr(self, f"{kind}{what}")

    def max_characters(self, policy_type: str) -> int | None:
        """Size limit of an SCP or RCP (``"SERVICE_CONTROL_POLICY"``, ``"SCP"`` or
        ``"scp"``); None for other policy types, which these quotas do not cover."""
        return self._by_type(policy_type, "_characters")

    def max_per_target(self, policy_type: str) -> int | None:
        """Policies of the type attached directly to one root, OU or account."""
        return self._by_type(policy_type, "s_per_target")

    def max_per_organization(self, policy_type: str) -> int | None:
        """Customer policies of the type in one organization."""
        return self._by_type(policy_type, "s_per_organization")


#: The default: AWS's quotas page as captured, and the project's issues and notes.
DOCUMENTED = OrganizationsQuotas(
    name="documented",
    basis="AWS's Organizations quotas page as captured: 5 SCPs per root, OU or account; "
          "5,120 characters per SCP or RCP",
)

#: Reported change of 15 May 2026 (SCPs only); see the module doc for how firm it is.
MAY_2026 = OrganizationsQuotas(
    name="may-2026",
    basis="reported change of 15 May 2026: 10 SCPs per root, OU or account and 10,240 "
          "characters per SCP (AWS What's New post cited, not captured; third-party "
          "write-ups); RCP quotas unchanged",
    page=WHATS_NEW_MAY_2026,
    changed=("scps_per_target", "scp_characters"),
    scps_per_target=10,
    scp_characters=10_240,
)

#: Every set, by name.
QUOTA_SETS = {q.name: q for q in (DOCUMENTED, MAY_2026)}


def quotas_named(quotas: str | OrganizationsQuotas | None) -> OrganizationsQuotas:
    """A set by name (``"documented"``, ``"may-2026"``), a set itself, or None: the default.

    >>> quotas_named(None).name
    'documented'
    >>> quotas_named("2026")
    Traceback (most recent call last):
    ...
    ValueError: unknown Organizations quota set '2026'; choose one of documented, may-2026, or pass an OrganizationsQuotas
    """
    if quotas is None:
        return DOCUMENTED
    if isinstance(quotas, OrganizationsQuotas):
        return quotas
    if isinstance(quotas, str) and quotas in QUOTA_SETS:
        return QUOTA_SETS[quotas]
    raise ValueError(f"unknown Organizations quota set {quotas!r}; choose one of "
                     f"{', '.join(QUOTA_SETS)}, or pass an OrganizationsQuotas")
