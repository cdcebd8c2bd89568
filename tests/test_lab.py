"""Lab: an empty world with one account, assumed-role sessions, guards, life cycle."""
from __future__ import annotations

import json
import warnings

import botocore.exceptions
import pytest

from labkit.lab import ADMIN_ROLE, MEMBER_ROLE, Lab, LabCall, LabError, ServiceError

ADMIN_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"


@pytest.fixture
def lab():
    with Lab() as lab:
        yield lab


@pytest.fixture
def org_lab(lab):
    org = lab.session("management").client("organizations")
    org.create_organization(FeatureSet="ALL")
    org.create_account(AccountName="dev", Email="dev@example.com")
    return lab


def attached(session, role):
    policies = session.client("iam").list_attached_role_policies(RoleName=role)
    return [p["PolicyArn"] for p in policies["AttachedPolicies"]]


def test_a_new_lab_is_an_empty_world_whose_management_session_works(lab):
    session = lab.session("management")
    identity = session.client("sts").get_caller_identity()
    assert identity["Account"] == lab.management_account_id
    assert identity["Arn"] == (
        f"arn:aws:sts::{lab.management_account_id}:assumed-role/{ADMIN_ROLE}/labkit")
    org = session.client("organizations")
    with pytest.raises(org.exceptions.AWSOrganizationsNotInUseException):
        org.describe_organization()
    assert session.client("s3").list_buckets()["Buckets"] == []


def test_the_lab_admin_role_is_an_administrator_trusted_by_the_management_account(lab):
    session = lab.session("management")
    role = session.client("iam").get_role(RoleName=ADMIN_ROLE)["Role"]
    trust = role["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    assert trust["Statement"][0]["Principal"] == {
        "AWS": f"arn:aws:iam::{lab.management_account_id}:root"}
    assert attached(session, ADMIN_ROLE) == [ADMIN_ARN]


def test_member_sessions_assume_organization_account_access_role(org_lab):
    dev_id = org_lab.account_id("dev")
    identity = org_lab.session("dev").client("sts").get_caller_identity()
    assert identity["Account"] == dev_id
    assert identity["Arn"] == f"arn:aws:sts::{dev_id}:assumed-role/{MEMBER_ROLE}/labkit"


def test_created_accounts_role_gets_administrator_access_as_aws_gives_it(lab):
    org = lab.session("management").client("organizations")
    org.create_organization(FeatureSet="ALL")
    status = org.create_account(AccountName="ops", Email="ops@example.com",
                                RoleName="OpsAdmin")["CreateAccountStatus"]
    ops = lab.session(status["AccountId"], role="OpsAdmin")
    assert attached(ops, "OpsAdmin") == [ADMIN_ARN]
    policy = ops.client("iam").get_policy(PolicyArn=ADMIN_ARN)["Policy"]
    assert policy["PolicyName"] == "AdministratorAccess"


@pytest.mark.parametrize("account, expected", [
    ("management", "management"),
    ("dev", "dev"),
    ("123456789012", "management"),
])
def test_account_id_by_keyword_name_or_id(org_lab, account, expected):
    want = org_lab.management_account_id if expected == "management" else None
    if expected == "dev":
        from moto.organizations.models import organizations_backends

        backend = organizations_backends[org_lab.management_account_id]["aws"]
        want = next(a.id for a in backend.accounts if a.name == "dev")
    assert org_lab.account_id(account) == want


def test_account_names_need_an_organization(lab):
    with pytest.raises(LabError, match="no account named 'dev': this lab has no organization yet"):
        lab.account_id("dev")


def test_an_unknown_account_name_lists_the_known_ones(org_lab):
    with pytest.raises(LabError, match="no account named 'prod' in the organization; accounts: 'dev'"):
        org_lab.session("prod")


def test_an_ambiguous_account_name_asks_for_the_id(org_lab):
    org = org_lab.session("management").client("organizations")
    org.create_account(AccountName="dev", Email="dev2@example.com")
    with pytest.raises(LabError, match="2 accounts are named 'dev'"):
        org_lab.account_id("dev")


def test_an_unknown_role_is_a_clear_error(org_lab):
    dev = org_lab.account_id("dev")
    with pytest.raises(LabError) as raised:
        org_lab.session("dev", role="Missing")
    message = str(raised.value)
    assert f"no role 'Missing' in account dev ({dev}); roles there: {MEMBER_ROLE}" in message
    assert "is " + dev not in message  # it is an account of the organization: no such question


def test_an_unknown_role_in_the_management_account_names_it_and_its_roles(org_lab):
    management = org_lab.management_account_id
    with pytest.raises(LabError, match=rf"account management \({management}\); roles there: {ADMIN_ROLE}"):
        org_lab.session("management", role="Missing")


def test_a_role_in_an_account_outside_the_organization_asks_whether_it_is_one(org_lab):
    with pytest.raises(LabError, match="account 111122223333; it has no roles; is 111122223333 an account"):
        org_lab.session("111122223333", role="Missing")


def test_the_management_account_is_named_management_not_master(org_lab):
    org = org_lab.session("management").client("organizations")
    accounts = {a["Id"]: a for a in org.list_accounts()["Accounts"]}
    management = accounts[org_lab.management_account_id]
    assert (management["Name"], management["Email"]) == ("management", "management@example.com")
    assert org_lab.account_id(management["Name"]) == org_lab.management_account_id


def test_sessions_are_cached_per_account_role_and_region(org_lab):
    a = org_lab.session("dev")
    assert org_lab.session("dev") is a
    b = org_lab.session("dev", region="eu-west-1")
    assert b is not a and b.region_name == "eu-west-1"
    assert b.client("sts").get_caller_identity()["Account"] == org_lab.account_id("dev")


@pytest.mark.parametrize("pin", [True, False])
def test_each_request_names_its_account_when_pinned(pin):
    with Lab(pin_accounts=pin) as lab:
        org = lab.session("management").client("organizations")
        org.create_organization(FeatureSet="ALL")
        org.create_account(AccountName="dev", Email="dev@example.com")
        sts = lab.session("dev").client("sts")
        headers = []
        sts.meta.events.register(
            "before-send", lambda request, **kw: headers.append(dict(request.headers)))
        assert sts.get_caller_identity()["Account"] == lab.account_id("dev")
        pinned = headers[0].get("x-moto-account-id")
        pinned = pinned.decode() if isinstance(pinned, bytes) else pinned
        assert pinned == (lab.account_id("dev") if pin else None)


def test_a_guard_sees_the_call_and_can_refuse_it_as_the_service_would(org_lab):
    seen: list[LabCall] = []

    def no_buckets_named_forbidden(call: LabCall):
        seen.append(call)
        if call.operation == "CreateBucket" and call.params["Bucket"] == "forbidden":
            return ServiceError(code="AccessDenied", message="Access Denied", status=403)
        return None

    org_lab.add_guard(no_buckets_named_forbidden)
    s3 = org_lab.session("dev").client("s3")
    s3.create_bucket(Bucket="allowed")
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        s3.create_bucket(Bucket="forbidden")
    assert raised.value.response["Error"]["Code"] == "AccessDenied"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["allowed"]
    call = next(c for c in seen if c.service == "s3")
    dev_id = org_lab.account_id("dev")
    assert (call.service, call.operation, call.account_id, call.region) == (
        "s3", "CreateBucket", dev_id, "us-east-1")
    assert call.principal_arn == f"arn:aws:sts::{dev_id}:assumed-role/{MEMBER_ROLE}/labkit"
    assert call.role_arn == f"arn:aws:iam::{dev_id}:role/{MEMBER_ROLE}"


def test_a_modeled_error_raises_the_services_own_exception_class(lab):
    lab.add_guard(lambda call: ServiceError(code="NoSuchEntity", message="nope", status=404)
                  if call.operation == "GetRole" else None)
    iam = lab.session("management").client("iam")
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_role(RoleName="anything")


@pytest.mark.parametrize("enforce", [True, False])
def test_authorization_guards_run_only_when_enforcing(enforce):
    def deny_everything(call):
        return ServiceError(code="AccessDenied", message="denied", status=403)

    with Lab(enforce=enforce) as lab:
        lab.add_guard(deny_everything, authorization=True)
        s3 = lab.session("management").client("s3")
        if enforce:
            with pytest.raises(botocore.exceptions.ClientError, match="AccessDenied"):
                s3.list_buckets()
        else:
            assert s3.list_buckets()["Buckets"] == []


def test_start_works_without_a_with_block_and_twice_is_harmless():
    lab = Lab().start()
    try:
        assert lab.start() is lab
        assert lab.session("management").client("sts").get_caller_identity()["Account"]
    finally:
        lab.close()
    lab.close()
    with pytest.raises(LabError, match="this lab was closed"):
        lab.start()


def test_starting_a_second_lab_closes_the_first_with_a_warning():
    first = Lab().start()
    sts = first.session("management").client("sts")
    with pytest.warns(UserWarning, match="closing the lab that was already open"):
        second = Lab().start()
    try:
        with pytest.raises(LabError, match="this lab is closed"):
            sts.get_caller_identity()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert second.session("management").client("sts").get_caller_identity()
    finally:
        second.close()


def test_each_lab_starts_from_an_empty_world():
    with Lab() as lab:
        lab.session("management").client("s3").create_bucket(Bucket="left-over")
    with Lab() as lab:
        assert lab.session("management").client("s3").list_buckets()["Buckets"] == []


def test_a_closed_lab_makes_no_sessions():
    lab = Lab().start()
    lab.close()
    with pytest.raises(LabError, match="closed"):
        lab.session("management")


def test_apply_builds_a_bundled_design_with_real_calls(lab):
    from labkit.design import load_design

    design = load_design("recommended")
    lab.apply(design)
    org = lab.session("management").client("organizations")
    names = {a["Name"] for a in org.list_accounts()["Accounts"]}
    assert len(names) > 3
    some_member = next(n for n in names if lab.account_id(n) != lab.management_account_id)
    identity = lab.session(some_member).client("sts").get_caller_identity()
    assert identity["Arn"].endswith(f":assumed-role/{MEMBER_ROLE}/labkit")


def test_guards_run_in_order_and_first_puts_one_in_front(lab):
    order = []
    lab.add_guard(lambda call: order.append("second"))
    lab.add_guard(lambda call: order.append("first"), first=True)
    lab.session("management").client("s3").list_buckets()
    assert order[-2:] == ["first", "second"]


def test_a_new_lab_enforces_by_default_and_can_be_switched_off():
    """Enforcement needs no setup step: Lab() authorizes every call; Lab(enforce=False)
    is the "no guardrails" world for comparison."""
    with Lab() as lab:
        from labkit.design import load_design

        lab.apply(load_design("recommended"))
        ec2 = lab.session("prod-app", region="ap-south-1").client("ec2")
        with pytest.raises(botocore.exceptions.ClientError) as denied:
            ec2.describe_instances()
        assert denied.value.response["Error"]["Code"] == "UnauthorizedOperation"
        lab.enforce = False
        assert ec2.describe_instances()["Reservations"] == []


def test_observers_see_each_successful_call_once_and_not_refused_ones():
    seen = []

    def observe(call, parsed):
        seen.append((call.service, call.operation, "Buckets" in parsed))

    with Lab() as lab:
        lab.add_observer(observe)
        lab.add_observer(observe)  # twice is harmless
        s3 = lab.session("management").client("s3")
        s3.list_buckets()
        lab.add_guard(lambda call: ServiceError(code="AccessDenied", message="no", status=403))
        with pytest.raises(botocore.exceptions.ClientError):
            s3.list_buckets()
    assert seen == [("s3", "ListBuckets", True)]


def test_a_member_accounts_organizations_store_is_its_management_accounts():
    from labkit.backends import iam_backend, organizations_backend

    with Lab() as lab:
        org = lab.session("management").client("organizations")
        org.create_organization(FeatureSet="ALL")
        member = org.create_account(AccountName="dev", Email="dev@example.com")["CreateAccountStatus"]["AccountId"]
        management = organizations_backend(lab.management_account_id)
        assert organizations_backend(member) is management
        assert management.org.master_account_id == lab.management_account_id
        assert "OrganizationAccountAccessRole" in {r.name for r in iam_backend(member).roles.values()}
