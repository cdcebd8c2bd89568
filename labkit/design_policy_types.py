"""The ``policy_types:`` of a design: which organization policy types it enables at the root.

A policy of a type attaches only while that type is enabled at the root
(``PolicyTypeNotEnabledException``,
https://docs.aws.amazon.com/organizations/latest/APIReference/API_AttachPolicy.html), so an
attachment of a type the design does not enable is a problem. It is reported once per type,
at the first attachment, with the number of others: a design that forgot ``policy_types``
gets one line, not one per node. When ``policy_types`` itself is misspelt (the key, or an
entry), that is the one problem reported.

A type may be written as the design writes it (``SCP``, ``RCP``), in lower case, or as AWS
names it in the API (``SERVICE_CONTROL_POLICY``, ``RESOURCE_CONTROL_POLICY``,
https://docs.aws.amazon.com/organizations/latest/APIReference/API_EnablePolicyType.html):
each names one type only, so none is ambiguous.

>>> from labkit.design import load_design
>>> load_design({"policy_types": ["scp", "RESOURCE_CONTROL_POLICY"], "root": {}}).policy_types
('SCP', 'RCP')
"""
from __future__ import annotations

from labkit.design_yaml import Located
from labkit.suggest import did_you_mean, plural

__all__ = ["TYPE_SPELLINGS", "read_policy_types", "report_not_enabled"]

#: How a design may spell a policy type -> the design's name for it (lower case too).
TYPE_SPELLINGS = {"SCP": "SCP", "RCP": "RCP", "SERVICE_CONTROL_POLICY": "SCP",
                  "RESOURCE_CONTROL_POLICY": "RCP"}


def read_policy_types(c, node: Located | None) -> tuple[str, ...]:
    """The enabled types, in the design's spelling and order (SCP, RCP); ``c`` is the
    design checker, told of each unknown entry (with a "did you mean")."""
    out = []
    if node is not None and isinstance(node.value, str):  # policy_types: SCP
        node = Located(value=[node], where=node.where, identity=node.identity)
    for item in c.items(node, "policy_types"):
        kind = TYPE_SPELLINGS.get(item.value.upper()) if isinstance(item.value, str) else None
        if kind is None:
            c.bad(item.where, f"unknown policy type {item.value!r} (expected SCP or RCP)"
                  + did_you_mean(item.value, TYPE_SPELLINGS))
            c.types_misspelt = True
        elif kind not in out:
            out.append(kind)
    return tuple(sorted(out, key=["SCP", "RCP"].index))


def report_not_enabled(c, has_types: bool) -> None:
    """One problem per policy type attached but not enabled, at its first attachment.

    Nothing when the cause is already reported (a misspelt ``policy_types`` key or entry).
    """
    if c.types_misspelt:
        return
    for kind, places in c.not_enabled.items():
        where, name = places[0]
        more = (f"; {plural(len(places) - 1, 'more attachment')} "
                f"need{'s' if len(places) == 2 else ''} it too") if len(places) > 1 else ""
        fix = "add it to policy_types" if has_types else f"add policy_types: [{kind}]"
        c.bad(where, f"{name!r} is an {kind}, but policy type {kind} is not enabled ({fix}){more}")
