"""Step 2's exercise checks and notebook helpers (re-exported by :mod:`labkit.guardrails`).

Introduced in ``notebooks/02-guardrails.ipynb``. Each check returns a
:class:`labkit.exercises.Check`, a value that displays itself and says what is wrong and how
to fix it, never a bare ``False``.
"""
from __future__ import annotations

import json
from collections.abc import Sequence

__all__ = ["check_guardrails_intact", "check_region_deny", "error_text", "outsider_role"]

SCP_EVALUATION = "https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html"
REGION_DENY = ("https://docs.aws.amazon.com/organizations/latest/userguide/"
               "orgs_manage_policies_scps_examples_general.html#example-scp-deny-region")


def error_text(err) -> str:
    """A ``ClientError`` as ``Code: message``, with EC2's encoded authorization message
    (https://docs.aws.amazon.com/STS/latest/APIReference/API_DecodeAuthorizationMessage.html)
    shortened to its length, so a notebook shows the sentence that matters.

    >>> from botocore.exceptions import ClientError
    >>> err = ClientError({"Error": {"Code": "UnauthorizedOperation", "Message": "No. "
    ...     "Encoded authorization failure message: " + "x" * 500}}, "RunInstances")
    >>> error_text(err)
    'UnauthorizedOperation: No. Encoded authorization failure message: (500 characters)'
    """
    error = err.response.get("Error", {})
    message = error.get("Message", "")
    marker = "Encoded authorization failure message: "
    if marker in message:
        head, blob = message.split(marker, 1)
        message = f"{head}{marker}({len(blob)} characters)"
    return f"{error.get('Code', '?')}: {message}"


def outsider_role(lab, account_id: str = "999988887777", role: str = "Partner") -> str:
    """Make ``role`` in an account *outside* the organization, with full permissions and
    trusted by the lab's management account, so ``lab.session(account_id, role)`` works.

    This builds the world (moto state), it is not a lesson: a lab session can only act
    where a role already exists. Returns the role's ARN; calling it again is harmless.
    """
    from labkit.backends import iam_backend
    from labkit.iam_entities import find_role

    iam = iam_backend(account_id)
    found = find_role(account_id, role)
    if found is None:
        trust = json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "sts:AssumeRole",
            "Principal": {"AWS": f"arn:aws:iam::{lab.management_account_id}:root"}}]})
        found = iam.create_role(role, trust, "/", None, "outside the organization", [], None)
        found.put_policy("everything", json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    return found.arn


def _check(exercise: str, problems: list[str], source: str):
    from labkit.exercises import Check

    return Check(exercise=exercise, problems=tuple(problems), source=source)


def check_region_deny(document, *, approved: Sequence[str] = ("eu-west-1",)):
    """Exercise (02-guardrails): an SCP that keeps work in ``approved`` Regions without
    breaking global services. Returns a :class:`labkit.exercises.Check` saying what is wrong.

    The SCP is judged beside ``FullAWSAccess`` at one level, as AWS's example is meant to be
    used (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_examples_general.html):
    EC2 outside the approved Regions must be denied, inside them allowed, and IAM and
    Organizations -- global services whose one endpoint is in us-east-1 -- must keep working.

    >>> check_region_deny({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*",
    ...     "Resource": "*", "Condition": {"StringNotEquals": {"aws:RequestedRegion": "eu-west-1"}}}]}).passed
    False
    """
    from labkit.policy import PolicySet, Request, evaluate, parse_policy, validate_policy

    name = "region deny that keeps global services working"
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except json.JSONDecodeError as exc:
            return _check(name, [f"line {exc.lineno}: not valid JSON: {exc.msg}"], REGION_DENY)
    errors = [p for p in validate_policy(document, "scp") if getattr(p, "severity", "error") == "error"]
    if errors:
        return _check(name, [f"the policy is not a valid SCP: {p}" for p in errors], REGION_DENY)
    mine = parse_policy(document, name="your SCP", kind="scp")
    full = parse_policy({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"}]}, name="FullAWSAccess", kind="scp")
    from labkit.guardrails import _admin_identity

    policies = PolicySet(identity=(_admin_identity(),), scps=[[full, mine]])
    principal = "arn:aws:sts::222222222222:assumed-role/Developer/labkit"
    outside = next(r for r in ("ap-south-1", "sa-east-1", "us-west-2") if r not in approved)

    def decide(action: str, region: str):
        return evaluate(Request(principal=principal, action=action,
                                context={"aws:RequestedRegion": region}), policies)

    problems = []
    d = decide("ec2:RunInstances", outside)
    if d.result != "ExplicitlyDenied":
        problems.append(f"ec2:RunInstances in {outside} is {d.result}: a request outside "
                        f"{', '.join(approved)} must be denied (Deny with a StringNotEquals test "
                        "on aws:RequestedRegion)")
    for region in approved:
        d = decide("ec2:RunInstances", region)
        if d.result != "Allowed":
            problems.append(f"ec2:RunInstances in approved Region {region} is {d.result}: {d}")
    for action in ("iam:ListRoles", "organizations:DescribeOrganization"):
        d = decide(action, "us-east-1")
        if d.result != "Allowed":
            problems.append(f"{action} is {d.result} ({d}); {action.split(':')[0].upper()} is a "
                            "global service whose endpoint is in us-east-1: exempt it with NotAction")
    return _check(name, problems, REGION_DENY)


def check_guardrails_intact(lab, account: str = "prod-app"):
    """Exercise (02-guardrails): ``account`` can work in an approved Region again, and its
    guardrails still hold. Returns a :class:`labkit.exercises.Check` saying what is wrong.

    Every level of the path needs an Allow, so an OU left without ``FullAWSAccess`` blocks
    everything below it; the Deny guardrails must stay attached
    (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html).
    """
    from labkit.guardrails import cell_kind, effective_permissions

    table = effective_permissions(lab, [account], ["ec2:DescribeInstances", "ec2:RunInstances",
                                                  "organizations:LeaveOrganization"],
                                  ["eu-west-1", "ap-south-1"])
    row = table.loc[account]
    problems = []
    cell = row[("ec2:DescribeInstances", "eu-west-1")]
    if cell_kind(cell) == "ImplicitlyDenied":
        level = cell.split(" @ ", 1)[1].split(":", 1)[0]
        problems.append(f"{account} cannot call ec2:DescribeInstances in eu-west-1: nothing attached at "
                        f"{level} allows it -- attach FullAWSAccess (p-FullAWSAccess) to {level} again")
    elif cell_kind(cell) != "Allowed":
        problems.append(f"{account} cannot call ec2:DescribeInstances in eu-west-1: {cell}")
    if cell_kind(row[("ec2:RunInstances", "ap-south-1")]) != "ExplicitlyDenied":
        problems.append(f"ec2:RunInstances in ap-south-1 is {row[('ec2:RunInstances', 'ap-south-1')]} for "
                        f"{account}: the region guardrail (deny-regions-outside-approved) must stay attached")
    if cell_kind(row[("organizations:LeaveOrganization", "eu-west-1")]) != "ExplicitlyDenied":
        problems.append(f"organizations:LeaveOrganization is allowed for {account}: keep "
                        "deny-leave-organization attached at the root")
    return _check(f"guardrails of {account} intact", problems, SCP_EVALUATION)
