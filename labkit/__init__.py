"""labkit: the helper library behind Landing Zone Lab's notebooks.

moto keeps the state; labkit keeps AWS's rules. Each public name is loaded on first use,
so ``import labkit`` has no side effects and stays fast.

The public API, by the step that introduces it:

- the lab (``00-start-here``, ``01-organizations``): :class:`Lab`, :func:`load_design`,
  :func:`snapshot`, :func:`org_tree`;
- the policy engine (``02-guardrails``): :func:`evaluate`, :class:`Request`,
  :class:`Decision`, :func:`parse_policy`, :func:`validate_policy`.
"""
from __future__ import annotations

import importlib

# name -> module that defines it
_EXPORTS = {
    "Lab": "labkit.lab",
    "Design": "labkit.design",
    "DesignError": "labkit.design",
    "load_design": "labkit.design",
    "snapshot": "labkit.design",
    "org_tree": "labkit.diagrams",
    "evaluate": "labkit.policy",
    "Request": "labkit.policy",
    "Decision": "labkit.policy",
    "parse_policy": "labkit.policy",
    "validate_policy": "labkit.policy",
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
