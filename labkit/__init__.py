"""labkit: the helper library behind Landing Zone Lab's notebooks.

moto keeps the state; labkit keeps AWS's rules. Each public name is loaded on first use,
so ``import labkit`` has no side effects and stays fast.

The public API, by the step that introduces it:

- the lab (``00-start-here``, ``01-organizations``): :class:`Lab`, :func:`load_design`,
  :func:`snapshot`, :func:`org_tree`;
- the policy engine (``02-guardrails`` on): :func:`evaluate`, :class:`Request`,
  :class:`Decision`, :class:`PolicySet`, :class:`Level`, :func:`parse_policy`,
  :func:`validate_policy`;
- guardrails (``02-guardrails``): :func:`guardrail`, :func:`guardrail_library`,
  :func:`effective_permissions`, :func:`styled`, :func:`scp_inheritance`,
  :func:`inheritance_diagram`, :func:`guardrail_tree`, :func:`guardrail_explorer`.
"""
from __future__ import annotations

import importlib

# name -> module that defines it
_EXPORTS = {
    # the lab (00-start-here, 01-organizations)
    "Lab": "labkit.lab",
    "LabError": "labkit.lab",
    "Design": "labkit.design",
    "DesignError": "labkit.design",
    "load_design": "labkit.design",
    "snapshot": "labkit.design",
    "NoOrganizationError": "labkit.snapshot",
    "org_tree": "labkit.diagrams",
    # the policy engine (used from 02-guardrails on)
    "evaluate": "labkit.policy",
    "Request": "labkit.policy",
    "Decision": "labkit.policy",
    "PolicySet": "labkit.policy",
    "Level": "labkit.policy",
    "parse_policy": "labkit.policy",
    "validate_policy": "labkit.policy",
    "check_policy": "labkit.policy",
    "PolicyInputError": "labkit.policy",
    "PolicyParseError": "labkit.policy",
    "PolicyValidationError": "labkit.policy",
    # guardrails (02-guardrails)
    "guardrail": "labkit.guardrails",
    "guardrail_library": "labkit.guardrails",
    "effective_permissions": "labkit.guardrails",
    "styled": "labkit.guardrails",
    "scp_inheritance": "labkit.inheritance",
    "inheritance_diagram": "labkit.inheritance",
    "guardrail_tree": "labkit.inheritance",
    "guardrail_explorer": "labkit.widgets",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'labkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
