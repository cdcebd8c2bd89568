"""Explorers: pick a request with widgets and watch the guardrails decide.

Introduced in ``notebooks/02-guardrails.ipynb``. :func:`guardrail_explorer` shows, for an
account, a principal (an IAM role in it), an action, a Region and a resource:

1. the decision (``Allowed`` / ``ExplicitlyDenied`` / ``ImplicitlyDenied``) and the
   one-sentence reason in the words of AWS's access-denied messages
   (https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html);
2. the explanation table: every statement of every policy that was weighed;
3. the inheritance diagram of the SCP path (the RCP path when an RCP blocked the request).

The decision is the one the lab's enforcement makes for a real call
(:func:`labkit.enforcement.decide`), so the explorer and a boto3 call always agree. The
output is rendered kernel-side into an ``ipywidgets.Output`` (``outputs`` reset, then
``append_display_data``), so it updates as the selection changes and can be tested
without a browser: set a control's ``.value`` and read ``explorer.output.outputs``.
"""
from __future__ import annotations

import html
from collections.abc import Sequence

__all__ = ["REGIONS", "account_choices", "guardrail_explorer", "role_choices"]

#: Regions offered by the explorer: the library's approved two, and two it does not approve.
REGIONS = ("us-east-1", "eu-west-1", "ap-south-1", "us-west-2")
_RESULT_COLOUR = {"Allowed": "#1a7f37", "ExplicitlyDenied": "#cf222e", "ImplicitlyDenied": "#9a6700"}


def account_choices(lab) -> list[tuple[str, str]]:
    """``(label, account id)`` for every account of the lab's organization, management first."""
    from labkit.applicable_policies import org_view

    view = org_view(lab)
    if view is None:
        return [("management", lab.management_account_id)]
    management = view.management_account_id
    places = sorted(view.places.values(),
                    key=lambda p: (p.account_id != management, [n for _, n in p.parents], p.name))
    return [("management" if p.account_id == management else p.name, p.account_id) for p in places]


def role_choices(lab, account_id: str) -> list[str]:
    """The IAM roles in ``account_id`` (read from the lab's state), the lab's default first."""
    from labkit.admin_roles import ADMIN_ROLE, MEMBER_ROLE, role_names

    default = ADMIN_ROLE if account_id == lab.management_account_id else MEMBER_ROLE
    names = role_names(account_id)
    return [default] + [n for n in names if n != default]


class _Explorer:
    """Wires the controls to the output; kept apart from the widget tree it fills."""

    def __init__(self, lab, box, controls, output) -> None:
        self.lab, self.box, self.output = lab, box, output
        self.account, self.principal, self.action, self.region, self.resource = controls
        self.decision = None

    def refresh_roles(self, change=None) -> None:
        roles = role_choices(self.lab, self.account.value)
        current = self.principal.value
        self.principal.options = roles
        self.principal.value = current if current in roles else roles[0]

    def update(self, change=None) -> None:
        from IPython.display import HTML

        from labkit.enforcement import decide
        from labkit.inheritance import inheritance_diagram

        out = self.output
        out.outputs = ()
        action = (self.action.value or "").strip()
        if ":" not in action or action.startswith(":") or action.endswith(":"):
            self.decision = None
            out.append_display_data(HTML(
                f"<p><b>Type an action as service:Action</b> (for example ec2:RunInstances); "
                f"got {html.escape(repr(action))}.</p>"))
            return
        try:
            decision = decide(self.lab, account=self.account.value, role=self.principal.value or None,
                              action=action, resource=(self.resource.value or "*").strip(),
                              region=self.region.value)
        except (ValueError, LookupError) as exc:
            self.decision = None
            out.append_display_data(HTML(f"<p><b>Cannot build this request:</b> {html.escape(str(exc))}</p>"))
            return
        self.decision = decision
        colour = _RESULT_COLOUR[decision.result]
        out.append_display_data(HTML(
            f'<p style="font-size:1.1em"><b style="color:{colour}">{decision.result}</b>'
            + (f" (blocked by {', '.join(decision.blocked_by)})" if decision.blocked_by else "")
            + f"</p><p>{html.escape(str(decision))}</p>"))
        out.append_display_data(decision.to_frame())
        kind = "rcp" if "rcp" in decision.blocked_by else "scp"
        out.append_display_data(inheritance_diagram(decision, kind=kind))


def guardrail_explorer(lab, *, actions: Sequence[str] | None = None,
                       regions: Sequence[str] = REGIONS, account: str | None = None):
    """An ipywidgets box: pick account, principal, action, region, resource; see the decision.

    The returned ``VBox`` has the controls as attributes (``account``, ``principal``,
    ``action``, ``region``, ``resource``), the ``output`` widget, and ``box.explorer.decision``
    (the latest :class:`~labkit.policy.Decision`, or None for an unusable selection).
    ``action`` is a combo box: pick from ``actions`` or type any ``service:Action``.
    """
    import ipywidgets as w

    from labkit.guardrails import DEFAULT_ACTIONS

    actions = list(actions or DEFAULT_ACTIONS)
    accounts = account_choices(lab)
    start = accounts[0][1] if account is None else lab.account_id(account)
    layout = w.Layout(width="420px")
    style = {"description_width": "80px"}
    account_w = w.Dropdown(options=accounts, value=start, description="account", layout=layout, style=style)
    principal_w = w.Dropdown(options=role_choices(lab, start), description="role", layout=layout, style=style)
    action_w = w.Combobox(options=actions, value=actions[0], description="action", layout=layout,
                          style=style, ensure_option=False, placeholder="service:Action")
    region_w = w.Dropdown(options=list(regions), value=regions[0], description="region", layout=layout,
                          style=style)
    resource_w = w.Text(value="*", description="resource", layout=layout, style=style,
                        placeholder="ARN, or * for actions without a resource")
    output = w.Output()
    box = w.VBox([w.HBox([w.VBox([account_w, principal_w, action_w]), w.VBox([region_w, resource_w])]),
                  output])
    explorer = _Explorer(lab, box, (account_w, principal_w, action_w, region_w, resource_w), output)
    account_w.observe(explorer.refresh_roles, names="value")
    for control in (account_w, principal_w, action_w, region_w, resource_w):
        control.observe(explorer.update, names="value")
    box.account, box.principal, box.action = account_w, principal_w, action_w
    box.region, box.resource, box.output = region_w, resource_w, output
    box.explorer = explorer
    explorer.update()
    return box
