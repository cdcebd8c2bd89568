"""Finding 22: sts:DecodeAuthorizationMessage decodes the lab's EC2 denials, for callers allowed to.

AWS: https://docs.aws.amazon.com/STS/latest/APIReference/API_DecodeAuthorizationMessage.html
("a user must be granted permissions ... to request the DecodeAuthorizationMessage
(sts:DecodeAuthorizationMessage) action"; InvalidAuthorizationMessageException, HTTP 400).
"""
from __future__ import annotations

import json
import re

import pytest

from labkit.lab import Lab


def scp(org, name, actions):
    content = {"Version": "2012-10-17",
               "Statement": [{"Effect": "Deny", "Action": actions, "Resource": "*"}]}
    return org.create_policy(Name=name, Type="SERVICE_CONTROL_POLICY", Description=name,
                             Content=json.dumps(content))["Policy"]["PolicySummary"]["Id"]


@pytest.fixture
def denied_ec2():
    """A lab whose dev account is denied ec2:DescribeInstances by an SCP, and the denial."""
    with Lab() as lab:
        org = lab.session("management").client("organizations")
        org.create_organization(FeatureSet="ALL")
        root = org.list_roots()["Roots"][0]["Id"]
        org.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
        dev = org.create_account(AccountName="dev", Email="dev@example.com")[
            "CreateAccountStatus"]["AccountId"]
        org.attach_policy(PolicyId=scp(org, "no-describe", ["ec2:DescribeInstances"]), TargetId=dev)
        ec2 = lab.session("dev").client("ec2")
        with pytest.raises(ec2.exceptions.ClientError) as raised:
            ec2.describe_instances()
        yield lab, org, dev, raised.value.response["Error"]["Message"]


def encoded_in(message: str) -> str:
    return re.search(r"Encoded authorization failure message: (\S+)$", message).group(1)


def test_a_real_ec2_denial_decodes_to_its_decision(denied_ec2):
    lab, _, dev, message = denied_ec2
    sts = lab.session("dev").client("sts")
    decoded = json.loads(sts.decode_authorization_message(
        EncodedMessage=encoded_in(message))["DecodedMessage"])
    assert decoded["allowed"] is False and decoded["explicitDeny"] is True
    assert decoded["context"]["action"] == "ec2:DescribeInstances"
    assert decoded["context"]["principal"]["arn"] == (
        f"arn:aws:sts::{dev}:assumed-role/OrganizationAccountAccessRole/labkit")
    assert decoded["matchedStatements"]["items"][0]["policy"] == "no-describe"
    keys = {c["key"] for c in decoded["context"]["conditions"]["items"]}
    assert "aws:principalaccount" in keys


def test_decoding_needs_sts_decode_authorization_message(denied_ec2):
    lab, org, dev, message = denied_ec2
    org.attach_policy(PolicyId=scp(org, "no-decode", ["sts:DecodeAuthorizationMessage"]),
                      TargetId=dev)
    sts = lab.session("dev").client("sts")
    with pytest.raises(sts.exceptions.ClientError) as raised:
        sts.decode_authorization_message(EncodedMessage=encoded_in(message))
    error = raised.value.response["Error"]
    assert error["Code"] == "AccessDenied"
    assert "not authorized to perform: sts:DecodeAuthorizationMessage" in error["Message"]
    # The management account is not bound by SCPs: it may decode the same message.
    management = lab.session("management").client("sts")
    assert management.decode_authorization_message(EncodedMessage=encoded_in(message))


@pytest.mark.parametrize("encoded", ["not-a-message", "eyJhIjoxfQ", "%%%"])
def test_a_message_the_lab_did_not_encode_is_invalid(denied_ec2, encoded):
    lab, *_ = denied_ec2
    sts = lab.session("dev").client("sts")
    with pytest.raises(sts.exceptions.InvalidAuthorizationMessageException):
        sts.decode_authorization_message(EncodedMessage=encoded)
