"""A decision as a value: what AWS would decide, what blocked it, and why.

Introduced in ``notebooks/02-guardrails.ipynb``. The vocabulary (``Allowed`` /
``ExplicitlyDenied`` / ``ImplicitlyDenied``) and the order in which policy types are weighed
are AWS's:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html
``Decision`` is re-exported from :mod:`labkit.policy.model` and :mod:`labkit.policy`.

>>> from labkit.policy import PolicySet, Request
>>> request = Request(principal="arn:aws:iam::111111111111:user/alice", action="s3:ListBuckets")
>>> Decision(result="ImplicitlyDenied", blocked_by=("identity",), request=request,
...          policies=PolicySet()).allowed
False
>>> Decision(result="Denied", request=request, policies=PolicySet())
Traceback (most recent call last):
ValueError: result must be one of ('Allowed', 'ExplicitlyDenied', 'ImplicitlyDenied'), got 'Denied'
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from .frozen import built
from .request import Request

if TYPE_CHECKING:
    from .model import PolicySet

__all__ = ["RESULTS", "BLOCKERS", "Decision"]

RESULTS = ("Allowed", "ExplicitlyDenied", "ImplicitlyDenied")
BLOCKERS = ("scp", "rcp", "identity", "boundary", "session", "resource", "trust")


@dataclass(frozen=True, kw_only=True)
class Decision:
    """What AWS would decide, what blocked it, and (computed on demand) why.

    ``result`` is ``Allowed``, ``ExplicitlyDenied`` or ``ImplicitlyDenied``; ``blocked_by``
    lists policy kinds from ``scp``, ``rcp``, ``identity``, ``boundary``, ``session``,
    ``resource``, ``trust`` (``session`` only when the policy set has session policies).
    ``deciding`` names the statements that decided it as ``(policy label, statement label)``.
    """

    result: str
    blocked_by: tuple[str, ...] = ()
    request: Request = field(repr=False)
    policies: PolicySet = field(repr=False)
    deciding: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.result not in RESULTS:
            raise ValueError(f"result must be one of {RESULTS}, got {self.result!r}")

    @classmethod
    def _decided(cls, result: str, request: Request, policies: "PolicySet", blocked_by: tuple[str, ...] = (),
                 deciding: tuple[tuple[str, str], ...] = ()) -> "Decision":
        """``Decision(...)`` for :func:`~labkit.policy.evaluate`, whose ``result`` is always
        one of RESULTS: the same value, without a frozen dataclass's per-field setattr."""
        return built(cls, {"result": result, "blocked_by": blocked_by, "request": request,
                           "policies": policies, "deciding": deciding})

    @property
    def allowed(self) -> bool:
        return self.result == "Allowed"

    @cached_property
    def details(self):
        """Per policy, the statements that matched or failed and why (see explain.py)."""
        from .explain import explain_policies
        return explain_policies(self.request, self.policies)

    @cached_property
    def scp_levels(self):
        """Per SCP level: label, ``allows`` / ``denies`` / ``no-allow``, deciding statement;
        None when no SCPs apply to the request (none given, or the principal is exempt)."""
        from .evaluate import organization_paths
        from .explain import level_outcomes
        return level_outcomes(self.request, organization_paths(self.request, self.policies)[0])

    @cached_property
    def rcp_levels(self):
        """Per RCP level, as :attr:`scp_levels`."""
        from .evaluate import organization_paths
        from .explain import level_outcomes
        return level_outcomes(self.request, organization_paths(self.request, self.policies)[1])

    def __str__(self) -> str:
        from .explain import sentence
        return sentence(self)

    def to_frame(self):
        """The explanation as a pandas DataFrame, one row per statement."""
        from .explain import to_frame
        return to_frame(self)

    def _repr_html_(self) -> str:
        from html import escape
        return f"<p><b>{escape(self.result)}</b>: {escape(str(self))}</p>" + self.to_frame().to_html(index=False)
