"""Newcomer findings on a live lab: before any organization exists, pictures and snapshots
say how to make one (no raw AWSOrganizationsNotInUseException); effective_permissions takes
a single account, action or region as a string, not as its letters."""
import pytest

from labkit.design import load_design, snapshot
from labkit.diagrams import org_tree
from labkit.guardrails import effective_permissions
from labkit.inheritance import guardrail_tree
from labkit.lab import Lab
from labkit.snapshot import NO_ORGANIZATION, NoOrganizationError


@pytest.fixture
def lab():
    with Lab() as lab:
        yield lab


@pytest.mark.parametrize("read", [
    pytest.param(lambda lab: snapshot(lab.session("management")), id="snapshot"),
    pytest.param(lambda lab: guardrail_tree(lab), id="guardrail_tree"),
    pytest.param(lambda lab: guardrail_tree(lab.session("management")), id="guardrail_tree-session"),
])
def test_no_organization_says_how_to_create_one(lab, read):
    with pytest.raises(NoOrganizationError) as info:
        read(lab)
    assert str(info.value) == NO_ORGANIZATION
    assert "create_organization(FeatureSet='ALL')" in str(info.value)


def test_org_tree_of_a_lab_without_organization_draws_the_management_account(lab):
    source = org_tree(lab).source
    assert "No organization yet" in source
    assert f"management ({lab.management_account_id})" in source
    assert "create_organization(FeatureSet='ALL')" in source
    assert "Root" not in source
    lab.session("management").client("organizations").create_organization(FeatureSet="ALL")
    assert "Root" in org_tree(lab).source  # once there is one, the real tree


def test_effective_permissions_takes_single_strings(lab):
    lab.apply(load_design("recommended"))
    one = effective_permissions(lab, accounts="prod-app", actions="s3:GetObject",
                                regions="eu-west-1")
    listed = effective_permissions(lab, accounts=["prod-app"], actions=["s3:GetObject"],
                                   regions=["eu-west-1"])
    assert list(one.index) == ["prod-app"]
    assert list(one.columns) == [("s3:GetObject", "eu-west-1")]
    assert one.equals(listed)
