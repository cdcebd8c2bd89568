"""Finding organization nodes by id (``labkit.org_index``) and the lazily read org view.

The index must agree with a scan of moto's list after any mix of the list changes moto
makes (append, remove, a new list), and the lazily read :class:`OrgView` must agree with
the organization as moto describes it, after creating, moving, closing and removing
accounts (RemoveAccountFromOrganization:
https://docs.aws.amazon.com/organizations/latest/APIReference/API_RemoveAccountFromOrganization.html;
CloseAccount: https://docs.aws.amazon.com/organizations/latest/APIReference/API_CloseAccount.html).
"""
from __future__ import annotations

import random

import pytest

from labkit import applicable_policies as ap
from labkit.design import load_design
from labkit.lab import Lab
from labkit.org_index import ById, OrgIndex


class Node:
    def __init__(self, node_id: str) -> None:
        self.id = node_id


def _scan(items, node_id):
    return next((item for item in items if item.id == node_id), None)


@pytest.mark.parametrize("seed", range(20))
def test_index_agrees_with_a_scan_after_appends_removals_and_new_lists(seed):
    rng = random.Random(seed)
    items, index, made = [], ById(), 0
    for _ in range(200):
        op = rng.choice(["append", "append", "remove", "remove_last", "new_list", "look"])
        if op == "append":
            made += 1
            items.append(Node(f"n-{made}"))
        elif op == "remove" and items:
            items.remove(rng.choice(items))
        elif op == "remove_last" and items:
            items.pop()
        elif op == "new_list":
            items = list(items)
        for k in range(made + 2):  # every id ever made, and one never made
            assert index.get(items, f"n-{k}") is _scan(items, f"n-{k}")


def test_remove_then_append_keeps_the_same_length_and_is_still_seen():
    a, b, c = Node("a"), Node("b"), Node("c")
    items, index = [a, b], ById()
    assert index.get(items, "a") is a
    items.remove(a)
    items.append(c)
    assert index.get(items, "a") is None and index.get(items, "c") is c


def test_node_finds_ous_then_accounts():
    class Backend:
        ou = [Node("r-1"), Node("ou-1")]
        accounts = [Node("111111111111")]

    index = OrgIndex()
    assert index.node(Backend, "ou-1") is Backend.ou[1]
    assert index.node(Backend, "111111111111") is Backend.accounts[0]
    assert index.node(Backend, "222222222222") is None


DESIGN = {
    "policy_types": ["SCP"],
    "root": {"ous": [
        {"name": "Workloads", "ous": [{"name": "Prod", "accounts": [
            {"name": f"prod-{i}", "email": f"prod-{i}@example.com"} for i in range(3)]}]},
        {"name": "Sandbox", "accounts": [{"name": "sandbox", "email": "sandbox@example.com"}]},
    ]},
}


def _described(org) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Account id -> (name, ids root..parent) as moto describes it, with real API calls."""
    out = {}
    for account in org.list_accounts()["Accounts"]:
        chain, child = [], account["Id"]
        while True:
            parent = org.list_parents(ChildId=child)["Parents"][0]
            chain.append(parent["Id"])
            if parent["Type"] == "ROOT":
                break
            child = parent["Id"]
        out[account["Id"]] = (account["Name"], tuple(reversed(chain)))
    return out


def _viewed(lab) -> dict[str, tuple[str, tuple[str, ...]]]:
    view = ap.org_view(lab)
    return {aid: (p.name, tuple(pid for pid, _ in p.parents)) for aid, p in view.places.items()}


def test_lazy_view_agrees_with_the_api_after_create_move_close_remove():
    with Lab() as lab:
        applied = lab.apply(load_design(DESIGN))
        org = lab.session("management").client("organizations")
        assert _viewed(lab) == _described(org)
        prod0, prod1 = applied.account_ids["prod-0"], applied.account_ids["prod-1"]
        org.move_account(AccountId=prod0, SourceParentId=applied.ou_ids["Root/Workloads/Prod"],
                         DestinationParentId=applied.ou_ids["Root/Sandbox"])
        assert _viewed(lab) == _described(org)
        assert ap.org_paths(lab, prod0).endswith(f"/{applied.ou_ids['Root/Sandbox']}/")
        org.remove_account_from_organization(AccountId=prod1)
        assert prod1 not in ap.org_view(lab).places and ap.scp_path(lab, prod1) is None
        assert _viewed(lab) == _described(org)
        org.close_account(AccountId=prod0)  # a suspended account stays in the organization
        assert prod0 in ap.org_view(lab).places
        new = org.create_account(AccountName="late", Email="late@example.com")
        late = new["CreateAccountStatus"]["AccountId"]
        assert ap.scp_path(lab, late)[-1].label == f"Account late ({late})"
        assert _viewed(lab) == _described(org)
        assert len(ap.org_view(lab).places) == len(_described(org))
