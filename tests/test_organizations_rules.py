"""The Organizations rules moto does not keep, table-driven from tests/cases/organizations/.

Each case builds an organization through a lab session (``setup``), makes one call, and
expects either AWS's error (code, reason, HTTP 400, and nothing changed) or success.
A setup step is ``{"op", "params", "as"}`` (a boto3 call; ``as`` names the id it returns),
``{"bind": {...}}``, or ``{"fill": {"ous": N}}`` / ``{"fill": {"policies": N, "type": T}}``,
which puts OUs under the root or customer policies of type T straight into moto's store
until the organization has N of them (quota cases; thousands of calls would only be slow).
An error may also expect ``message_contains`` (strings); a success may list ``then``: more
calls, each with an expected ``result`` (path -> value; a number in a path indexes a list)
or the policy ``ids`` it lists; ``"unchanged": true`` expects a success that changes nothing
in moto's store (a read, or a request AWS answers as failed), and ``"as"`` on the call
names the id it returns (a new account's id, else the CreateAccount request id). Strings ``"$name"`` refer to ids: ``$root``, ``$management``,
``$FullAWSAccess``, ``$RCPFullAWSAccess`` and every ``as`` name;
``{"$policy_of_length": N}`` is a valid SCP of exactly N characters (``"kind": "rcp"``: RCP).
"""
from __future__ import annotations

import json
import pathlib

import botocore.session
import pytest

from labkit.lab import Lab
from labkit.organizations import check_policy_content
from casefiles import case_params, cases_in

CASES_FILE = pathlib.Path(__file__).parent / "cases" / "organizations" / "rules.jsonl"
CASES = cases_in(CASES_FILE)


def policy_of_length(n: int, kind: str = "scp") -> str:
    """A valid SCP (or RCP, which names a Principal) of exactly ``n`` characters
    (whitespace counts)."""
    statement = {"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"}
    if kind == "rcp":
        statement["Principal"] = "*"
    text = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    assert len(text) <= n
    return text + " " * (n - len(text))


def resolve(value, names):
    if isinstance(value, str) and value.startswith("$"):
        return names[value[1:]]
    if isinstance(value, dict) and "$policy_of_length" in value:
        return policy_of_length(value["$policy_of_length"], value.get("kind", "scp"))
    if isinstance(value, dict):
        return {k: resolve(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, names) for v in value]
    return value


def returned_id(response):
    for path in (("OrganizationalUnit", "Id"), ("Policy", "PolicySummary", "Id"),
                 ("CreateAccountStatus", "AccountId"), ("CreateAccountStatus", "Id")):
        node = response
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if node:
            return node
    return None


def fill(lab, spec):
    """Grow the organization to ``spec``'s count of OUs or policies, in moto's store."""
    from moto.organizations.models import (FakeOrganizationalUnit, FakePolicy,
                                           organizations_backends)

    backend = organizations_backends[lab.management_account_id]["aws"]
    root = next(o for o in backend.ou if o.type == "ROOT")
    if "ous" in spec:
        for n in range(len(backend.ou) - 1, spec["ous"]):
            backend.ou.append(FakeOrganizationalUnit(backend.org, Name=f"fill-{n}", ParentId=root.id))
    else:
        have = sum(p.type == spec["type"] and not p.aws_managed for p in backend.policies)
        for n in range(have, spec["policies"]):
            backend.policies.append(FakePolicy(backend.org, Name=f"fill-{n}", Type=spec["type"],
                                               Content=policy_of_length(200)))


def at_path(response, path):
    node = response
    for key in path.split("."):
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def check_then(org, steps, names):
    for step in steps:
        response = getattr(org, step["op"])(**resolve(step["params"], names))
        for path, wanted in step.get("result", {}).items():
            assert at_path(response, path) == resolve(wanted, names), step
        if "ids" in step:
            assert sorted(p["Id"] for p in response["Policies"]) == sorted(step["ids"]), step


def fingerprint(lab):
    """Everything these rules could change, read from moto's store."""
    from moto.organizations.models import organizations_backends

    b = organizations_backends[lab.management_account_id]["aws"]
    return (
        sorted((o.id, o.name, o.parent_id, tuple(p.id for p in o.attached_policies)) for o in b.ou),
        sorted((a.id, a.status, a.parent_id, tuple(p.id for p in a.attached_policies))
               for a in b.accounts),
        sorted((p.id, p.name, p.content) for p in b.policies),
        [dict(t) for o in b.ou if o.type == "ROOT" for t in o.policy_types],
    )


def test_case_file_is_well_formed():
    names = [c["name"] for c in CASES]
    assert len(names) == len(set(names)), "case names must be unique"
    for case in CASES:
        assert case["source"].startswith("https://docs.aws.amazon.com/"), case["name"]
        assert ("ok" in case["expect"]) != ("error" in case["expect"]), case["name"]


@pytest.mark.parametrize("case", case_params(CASES_FILE))
def test_rule(case):
    with Lab() as lab:
        org = lab.session("management").client("organizations")
        org.create_organization(FeatureSet="ALL")
        root = org.list_roots()["Roots"][0]["Id"]
        for policy_type in case.get("enable", ["SERVICE_CONTROL_POLICY"]):
            org.enable_policy_type(RootId=root, PolicyType=policy_type)
        names = {"root": root, "management": lab.management_account_id,
                 "FullAWSAccess": "p-FullAWSAccess", "RCPFullAWSAccess": "p-RCPFullAWSAccess"}
        for step in case["setup"]:
            if "bind" in step:
                names.update(resolve(step["bind"], names))
                continue
            if "fill" in step:
                fill(lab, step["fill"])
                continue
            response = getattr(org, step["op"])(**resolve(step["params"], names))
            if "as" in step:
                names[step["as"]] = returned_id(response)

        call = case["call"]
        before = fingerprint(lab)
        expect = case["expect"]
        if "ok" in expect:
            response = getattr(org, call["op"])(**resolve(call["params"], names))
            assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
            for path, wanted in expect.get("result", {}).items():
                assert at_path(response, path) == wanted, path
            if expect.get("unchanged"):
                assert fingerprint(lab) == before
            else:
                assert fingerprint(lab) != before or call["op"] in ("close_account",)
            if "as" in call:
                names[call["as"]] = returned_id(response)
            check_then(org, expect.get("then", []), names)
        else:
            error_class = getattr(org.exceptions, expect["error"])
            with pytest.raises(error_class) as raised:
                getattr(org, call["op"])(**resolve(call["params"], names))
            response = raised.value.response
            assert response["Error"]["Code"] == expect["error"]
            assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
            assert response["Error"]["Message"]
            assert response.get("Reason") == expect.get("reason")
            for part in expect.get("message_contains", []):
                assert part in response["Error"]["Message"], response["Error"]["Message"]
            if expect.get("unchanged"):
                assert fingerprint(lab) == before, "a refused call changed the organization"


def organizations_model():
    return botocore.session.get_session().get_service_model("organizations")


@pytest.mark.parametrize("case", case_params(CASES_FILE, keep=lambda c: "error" in c["expect"]))
def test_error_code_and_reason_are_in_botocores_model(case):
    model = organizations_model()
    operation = model.operation_model(
        "".join(part.title() for part in case["call"]["op"].split("_")))
    codes = {shape.name for shape in operation.error_shapes}
    assert case["expect"]["error"] in codes, f"{operation.name} cannot raise {case['expect']['error']}"
    reason = case["expect"].get("reason")
    if reason:
        enum_shape = model.shape_for(case["expect"]["error"]).members["Reason"]
        assert reason in enum_shape.enum


def test_policy_sizes_and_counts_follow_the_quotas_page():
    from labkit.quotas import DOCUMENTED

    assert [DOCUMENTED.max_characters(t) for t in ("SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY")] == [5120, 5120]
    assert [DOCUMENTED.max_per_organization(t)
            for t in ("SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY")] == [10_000, 1_000]
    assert DOCUMENTED.ous_per_organization == 2000
    # Other policy types are not limited by this guard.
    assert check_policy_content("TAG_POLICY", "{") is None


def test_calls_outside_organizations_are_not_checked():
    with Lab() as lab:
        iam = lab.session("management").client("iam")
        assert iam.list_roles()["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_without_an_organization_moto_answers():
    with Lab() as lab:
        org = lab.session("management").client("organizations")
        with pytest.raises(org.exceptions.AWSOrganizationsNotInUseException):
            org.create_organizational_unit(ParentId="r-abcd", Name="Prod")


def test_a_member_account_finds_its_organization():
    """A member's calls are checked against its organization (the management's store).

    With authorization on, AWS refuses the member first: only the management account may
    close accounts (CloseAccount API reference). With it off, the Organizations rule itself
    answers, read from the management account's store.
    """
    with Lab(enforce=False) as lab:
        org = lab.session("management").client("organizations")
        org.create_organization(FeatureSet="ALL")
        org.create_account(AccountName="dev", Email="dev@example.com")
        member = lab.session("dev").client("organizations")
        with pytest.raises(member.exceptions.ConstraintViolationException) as raised:
            member.close_account(AccountId=lab.management_account_id)
        assert raised.value.response["Reason"] == "CANNOT_CLOSE_MANAGEMENT_ACCOUNT"
        lab.enforce = True
        with pytest.raises(member.exceptions.AccessDeniedException):
            member.close_account(AccountId=lab.management_account_id)


def test_the_ten_account_default_quota_is_deliberately_not_enforced():
    """The module says so, with the quotas page (the lab builds 1,000-account organizations)."""
    import labkit.organizations as organizations

    doc = organizations.__doc__
    assert "10 accounts" in doc and "orgs_reference_limits.html" in organizations.QUOTAS_PAGE
    with Lab() as lab:
        org = lab.session("management").client("organizations")
        org.create_organization(FeatureSet="ALL")
        for n in range(11):
            org.create_account(AccountName=f"a{n}", Email=f"a{n}@example.com")
        assert len(org.list_accounts()["Accounts"]) == 12
