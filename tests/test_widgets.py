"""The guardrail explorer, driven without a browser: set a control's value, read the output.

Each selection must show the same decision the lab's enforcement makes for that request
(:func:`labkit.enforcement.decide`), its one-sentence reason, the explanation table and the
inheritance diagram.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from labkit.design import load_design
from labkit.enforcement import decide
from labkit.lab import Lab
from labkit.widgets import account_choices, guardrail_explorer, role_choices

DESIGN = json.loads((Path(__file__).parent / "cases" / "guardrails" / "lab-design.json").read_text())


@pytest.fixture(scope="module")
def lab():
    with Lab() as lab:
        lab.apply(load_design(DESIGN))
        yield lab


@pytest.fixture()
def explorer(lab):
    return guardrail_explorer(lab)


def _texts(box) -> list[str]:
    out = []
    for item in box.output.outputs:
        data = item["data"]
        out.append(data.get("text/html") or data.get("text/plain", ""))
    return out


def _mimes(box) -> list[set[str]]:
    return [set(item["data"]) for item in box.output.outputs]


def test_choices_list_accounts_management_first_and_default_roles(lab):
    accounts = account_choices(lab)
    assert accounts[0] == ("management", lab.management_account_id)
    assert {name for name, _ in accounts} >= {"prod-app", "sandbox-dev", "log-archive"}
    assert role_choices(lab, lab.management_account_id)[0] == "LabAdmin"
    assert role_choices(lab, lab.account_id("prod-app"))[0] == "OrganizationAccountAccessRole"


def test_first_view_shows_decision_reason_table_and_diagram(explorer):
    assert len(explorer.output.outputs) == 3
    text, table, diagram = _texts(explorer)
    assert "Allowed" in text and "is allowed to perform" in text
    assert "<table" in table and "statement" in table
    assert "image/svg+xml" in _mimes(explorer)[2]


@pytest.mark.parametrize("account, action, region, result", [
    ("prod-app", "ec2:RunInstances", "ap-south-1", "ExplicitlyDenied"),
    ("prod-app", "ec2:RunInstances", "eu-west-1", "Allowed"),
    ("sandbox-dev", "rds:CreateDBInstance", "us-east-1", "ImplicitlyDenied"),
    ("management", "ec2:RunInstances", "ap-south-1", "Allowed"),
])
def test_output_follows_the_selection_and_agrees_with_enforcement(lab, explorer, account, action, region, result):
    explorer.account.value = lab.account_id(account)
    explorer.region.value = region
    explorer.action.value = action
    expected = decide(lab, account=account, action=action, region=region)
    assert expected.result == result
    assert explorer.explorer.decision.result == result
    text, _, diagram = _texts(explorer)
    assert result in text and str(expected) in text.replace("&#x27;", "'")
    svg = explorer.output.outputs[2]["data"]["image/svg+xml"]
    assert f"Decision: {result}" in svg


def test_changing_account_refreshes_roles(lab, explorer):
    explorer.account.value = lab.account_id("prod-app")
    assert explorer.principal.value == "OrganizationAccountAccessRole"
    explorer.account.value = lab.management_account_id
    assert explorer.principal.value == "LabAdmin"


def test_resource_is_part_of_the_request(lab, explorer):
    explorer.account.value = lab.account_id("log-archive")
    explorer.region.value = "us-east-1"
    explorer.action.value = "cloudtrail:StopLogging"
    trail = "arn:aws:cloudtrail:us-east-1:{}:trail/lz-organization-trail".format(lab.account_id("log-archive"))
    explorer.resource.value = trail
    assert explorer.explorer.decision.result == "ExplicitlyDenied"
    assert "protect-log-archive" in _texts(explorer)[0]
    explorer.resource.value = trail.replace("lz-organization-trail", "team-trail")
    assert explorer.explorer.decision.result == "Allowed"


def test_a_malformed_action_says_what_is_wrong(explorer):
    explorer.action.value = "RunInstances"
    assert explorer.explorer.decision is None
    (text,) = _texts(explorer)
    assert "service:Action" in text and "RunInstances" in text
