"""The real-AWS safety guard: with real-looking credentials around, nothing leaves the machine."""
from __future__ import annotations

import ipaddress
import os
import re
import socket

import boto3
import pytest

from labkit.lab import Lab, LabError
from labkit.safety import FAKE_ACCESS_KEY_ID, LabSafetyError, check_environment, is_on_machine

REAL_LOOKING_KEY = "AKIAIOSFODNN7REALKEY"
REAL_LOOKING_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYREALSECRET"
FILE_KEY = "AKIAJFILEKEYREALLOOK"


def _is_loopback(address) -> bool:
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture
def real_looking_world(tmp_path, monkeypatch):
    """Real-looking credentials in the environment and in a fake ~/.aws; sockets watched.

    Every connection attempt is recorded; one to a host off the machine is also stopped,
    so a failing guard cannot reach AWS from the test suite.
    """
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "credentials").write_text(
        f"[default]\naws_access_key_id = {FILE_KEY}\naws_secret_access_key = filesecret\n"
        f"[prod]\naws_access_key_id = {FILE_KEY}\naws_secret_access_key = filesecret\n")
    (home / ".aws" / "config").write_text(
        "[default]\nregion = eu-west-1\n[profile prod]\nregion = eu-west-2\n"
        "endpoint_url = https://proxy.example.com\n")
    monkeypatch.setenv("HOME", str(home))
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", REAL_LOOKING_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", REAL_LOOKING_SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", "real-looking-token")
    monkeypatch.setenv("AWS_PROFILE", "prod")

    attempts = []
    original_connect = socket.socket.connect
    original_create = socket.create_connection

    def connect(self, address):
        attempts.append(address)
        if not _is_loopback(address):
            raise AssertionError(f"test stopped a connection to {address}")
        return original_connect(self, address)

    def create_connection(address, *args, **kwargs):
        attempts.append(address)
        if not _is_loopback(address):
            raise AssertionError(f"test stopped a connection to {address}")
        return original_create(address, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    return attempts


@pytest.fixture
def signed_keys(monkeypatch):
    """The access key id of every request moto serves (from its Authorization header).

    (A client made before the lab with the real-looking profile is refused before any
    connection, so it is not served and not listed.)"""
    from moto.core.botocore_stubber import BotocoreStubber

    seen = []
    serve = BotocoreStubber.__call__

    def recording(self, event_name, request, **kwargs):
        authorization = request.headers.get("Authorization", b"")
        if isinstance(authorization, bytes):
            authorization = authorization.decode()
        match = re.search(r"Credential=([^/]+)/", authorization)
        response = serve(self, event_name, request, **kwargs)
        if response is not None:
            seen.append(match.group(1) if match else None)
        return response

    monkeypatch.setattr(BotocoreStubber, "__call__", recording)
    return seen


def test_no_lab_call_leaves_the_machine_and_only_fake_credentials_sign(
        real_looking_world, signed_keys):
    early_client = boto3.session.Session(region_name="us-east-1").client("sts")
    with Lab() as lab:
        management = lab.session("management")
        org = management.client("organizations")
        org.create_organization(FeatureSet="ALL")
        org.create_account(AccountName="dev", Email="dev@example.com")
        dev = lab.session("dev")
        dev.client("s3").create_bucket(Bucket="lab-bucket")
        dev.client("ec2").describe_instances()
        management.client("iam").list_roles()

        # A learner's own client, outside any lab session, is served by moto too,
        # with the lab's fake credentials, not the ones in the environment or ~/.aws.
        plain = boto3.client("sts")
        assert plain.get_caller_identity()["Account"] == lab.management_account_id
        assert boto3.Session().get_credentials().access_key == FAKE_ACCESS_KEY_ID

        # What moto does not serve is refused, not sent.
        with pytest.raises(LabSafetyError, match="refusing to send s3:ListBuckets to https://s3.example.com"):
            dev.client("s3", endpoint_url="https://s3.example.com").list_buckets()
        with pytest.raises(LabSafetyError, match="would leave the machine"):
            boto3.client("s3", endpoint_url="https://s3.example.com").list_buckets()
        # A client made before the lab started (moto cannot see it) cannot connect out.
        with pytest.raises(LabSafetyError, match="created before Lab.start"):
            early_client.get_caller_identity()
        issued = {c["AccessKeyId"] for c in lab._credentials.values()}

    off_machine = [a for a in real_looking_world if not _is_loopback(a)]
    assert off_machine == []
    assert signed_keys, "no request reached moto"
    assert set(signed_keys) <= issued | {FAKE_ACCESS_KEY_ID}
    assert REAL_LOOKING_KEY not in signed_keys and FILE_KEY not in signed_keys


def test_a_plain_boto3_client_in_a_lab_is_the_management_administrator_with_the_lab_rules():
    """Finding 1: boto3.client(...) acts as lab.session("management"), so the OU depth
    limit holds (a sixth level is refused), and the default session is restored on close."""
    before = boto3.DEFAULT_SESSION
    with Lab() as lab:
        org = boto3.client("organizations")
        org.create_organization(FeatureSet="ALL")
        assert boto3.DEFAULT_SESSION is lab.session("management")
        caller = boto3.client("sts").get_caller_identity()["Arn"]
        assert caller == f"arn:aws:sts::{lab.management_account_id}:assumed-role/LabAdmin/labkit"
        parent = org.list_roots()["Roots"][0]["Id"]
        for level in range(1, 6):
            parent = org.create_organizational_unit(ParentId=parent, Name=f"L{level}")[
                "OrganizationalUnit"]["Id"]
        with pytest.raises(org.exceptions.ConstraintViolationException, match="too many levels"):
            org.create_organizational_unit(ParentId=parent, Name="L6")
        bucket = boto3.resource("s3").create_bucket(Bucket="lab-resource-bucket")
        assert [b.name for b in boto3.resource("s3").buckets.all()] == [bucket.name]
        assert boto3.client("sts", region_name="eu-west-1").meta.region_name == "eu-west-1"
    assert boto3.DEFAULT_SESSION is before


@pytest.mark.parametrize("make", [
    lambda: boto3.session.Session().client("organizations"),
    lambda: __import__("botocore.session").session.get_session().create_client(
        "organizations", region_name="us-east-1"),
    lambda: boto3.Session(aws_access_key_id="LABKITOTHERKEY000000",
                          aws_secret_access_key="x").client("organizations"),
], ids=["boto3-session", "botocore-session", "own-keys"])
def test_a_client_not_made_from_a_lab_session_is_refused_in_the_lab(make):
    """Finding 1: any other session would reach moto as its default user, past every rule."""
    with Lab():
        with pytest.raises(LabSafetyError, match="this client was not made from a lab session, "
                           "so the lab's AWS rules would not apply: use lab.session"):
            make().list_roots()


def test_a_client_of_a_closed_lab_says_the_lab_is_closed():
    """Finding 15: not "moto does not serve it"."""
    lab = Lab().start()
    plain = boto3.client("sts")  # the lab's management session
    other = boto3.session.Session().client("sts")  # refused in the lab; after it, closed
    lab.close()
    with pytest.raises(LabError, match="this lab is closed"):
        plain.get_caller_identity()
    with pytest.raises(LabSafetyError, match="the lab this client was made in is closed") as raised:
        other.get_caller_identity()
    assert "moto does not serve it" not in str(raised.value)


def test_the_environment_is_restored_on_close(real_looking_world):
    before = dict(os.environ)
    lab = Lab().start()
    assert "AWS_PROFILE" not in os.environ
    assert os.environ["AWS_ACCESS_KEY_ID"] == FAKE_ACCESS_KEY_ID
    assert open(os.environ["AWS_CONFIG_FILE"]).read() == ""
    assert open(os.environ["AWS_SHARED_CREDENTIALS_FILE"]).read() == ""
    lab.close()
    assert dict(os.environ) == before


def test_sessions_of_a_closed_lab_refuse_calls():
    lab = Lab().start()
    sts = lab.session("management").client("sts")
    lab.close()
    with pytest.raises(LabError, match="this lab is closed"):
        sts.get_caller_identity()


def test_the_http_layer_is_restored_on_close():
    from botocore.httpsession import URLLib3Session

    original = URLLib3Session.send
    with Lab():
        assert URLLib3Session.send is not original
    assert URLLib3Session.send is original


@pytest.mark.parametrize("variable, value", [
    ("AWS_ENDPOINT_URL", "https://proxy.example.com"),
    ("AWS_ENDPOINT_URL_STS", "http://10.0.0.5:4566"),
    ("TEST_SERVER_MODE", "true"),
])
def test_a_lab_refuses_to_start_when_calls_would_go_elsewhere(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    before = dict(os.environ)
    lab = Lab()
    with pytest.raises(LabSafetyError, match=f"refusing to start the lab: {variable}="):
        lab.start()
    assert dict(os.environ) == before, "a refused start left the environment changed"
    assert Lab._open is None


def test_an_endpoint_on_the_machine_does_not_stop_the_lab(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://localhost:4566")
    with Lab() as lab:
        assert "AWS_ENDPOINT_URL" not in os.environ
        assert lab.session("management").client("sts").get_caller_identity()["Account"]
    assert os.environ["AWS_ENDPOINT_URL"] == "http://localhost:4566"


@pytest.mark.parametrize("url, on_machine", [
    ("http://localhost:5000", True),
    ("http://127.0.0.1/", True),
    ("http://[::1]:8080/", True),
    ("https://sts.amazonaws.com/", False),
    ("http://169.254.169.254/latest/meta-data/", False),
    ("http://10.0.0.5:4566", False),
])
def test_on_machine_means_loopback(url, on_machine):
    assert is_on_machine(url) is on_machine


def test_profiles_are_not_a_reason_to_refuse():
    check_environment({"AWS_PROFILE": "prod", "AWS_ACCESS_KEY_ID": REAL_LOOKING_KEY})
