"""The real-AWS safety guard: nothing a lab does leaves the machine.

A :class:`labkit.lab.Lab` runs moto in-process. Three layers keep every AWS call on the
machine while a lab is open (``00-start-here`` explains them to the learner):

1. **The environment.** :func:`lab_environment` computes the environment a lab runs in:
   every ``AWS_*`` variable the learner had (profiles, keys, session tokens, endpoint URLs,
   web-identity and container credentials) is removed, fake credentials and a region are
   set, and ``AWS_CONFIG_FILE`` / ``AWS_SHARED_CREDENTIALS_FILE`` point at empty files so
   ``~/.aws`` is never read. :func:`check_environment` refuses to start a lab when the
   environment says calls should go elsewhere (an endpoint URL off the machine, moto's
   server or proxy mode).
2. **Every botocore client made while the lab is open.** :func:`serve_or_refuse` takes the
   place of moto's own ``before-send`` handler: moto answers every request it mocks, and
   a request moto does not answer (a service or operation moto does not mock) would go to
   the network, so it raises :class:`LabSafetyError` instead. It also refuses a request
   that does not carry the open lab's mark (the :data:`LAB_MARK_HEADER` header its lab
   sessions set): a client made from some other session would reach moto as moto's
   default user and skip every AWS rule the lab keeps. (``boto3.client(...)`` is a lab
   session's client while a lab is open: see :class:`labkit.lab.Lab`.) Once the lab is
   closed, a client made inside it is refused with a message saying so.
3. **The HTTP layer.** While a lab is open, :func:`guard_http_layer` wraps botocore's
   ``URLLib3Session.send`` so that even a client created before the lab started (which
   moto cannot see) cannot open a connection to a host off the machine.

How botocore resolves credentials and where it reads profiles (the variables cleared here):
https://boto3.amazonaws.com/v1/documentation/api/latest/guide/credentials.html and
https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html (endpoint URLs).
"""
from __future__ import annotations

import contextlib
import ipaddress
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = [
    "FAKE_ACCESS_KEY_ID",
    "FAKE_SECRET_ACCESS_KEY",
    "LAB_MARK_HEADER",
    "LabSafetyError",
    "check_environment",
    "guard_http_layer",
    "is_on_machine",
    "lab_environment",
    "moto_only_clients",
    "serve_or_refuse",
]

#: The credentials every lab call is signed with. They are not AWS credentials: AWS access
#: key ids start with ``AKIA`` or ``ASIA``; these cannot authenticate anywhere.
FAKE_ACCESS_KEY_ID = "LABKITFAKEACCESSKEY0"
FAKE_SECRET_ACCESS_KEY = "labkit-fake-secret-access-key-not-valid-anywhere"

#: The header a lab session's requests carry (set in its ``before-sign`` hook), whose value
#: is the open lab's mark: :func:`serve_or_refuse` answers only requests that carry it.
LAB_MARK_HEADER = "x-labkit-lab"

# The marks of the labs open now (one at a time; a list so nesting restores cleanly).
_open_marks: list[str | None] = []

# Variables outside the AWS_ prefix that would change where or as whom calls go.
_OTHER_VARIABLES = ("MOTO_ACCOUNT_ID", "BOTO_CONFIG")


class LabSafetyError(RuntimeError):
    """A call or a setting would reach a real AWS endpoint, so the lab refused it."""


@dataclass(frozen=True, kw_only=True)
class _Refusal:
    """Why the environment is unsafe: the variable and what it says."""

    variable: str
    value: str
    reason: str


def is_on_machine(url_or_host: str) -> bool:
    """Whether a URL or host name stays on this machine (loopback).

    >>> is_on_machine("http://localhost:5000")
    True
    >>> is_on_machine("http://127.0.0.1:4566/")
    True
    >>> is_on_machine("https://ec2.us-east-1.amazonaws.com/")
    False
    >>> is_on_machine("[::1]")
    True
    """
    text = url_or_host.strip()
    host = urlsplit(text).hostname if "://" in text else text.strip("[]").split(":")[0]
    if text.startswith("[") and "://" not in text:
        host = text.strip("[]")
    if not host:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _unsafe_settings(environ: Mapping[str, str]) -> list[_Refusal]:
    refusals = []
    for name, value in sorted(environ.items()):
        if name.startswith("AWS_ENDPOINT_URL") and value and not is_on_machine(value):
            refusals.append(
                _Refusal(
                    variable=name,
                    value=value,
                    reason="sends AWS calls to an endpoint off this machine",
                )
            )
    for name in ("TEST_SERVER_MODE", "TEST_PROXY_MODE"):
        if environ.get(name, "").lower() == "true":
            refusals.append(
                _Refusal(
                    variable=name,
                    value=environ[name],
                    reason="puts moto in server or proxy mode; the lab runs moto in-process",
                )
            )
    return refusals


def check_environment(environ: Mapping[str, str] | None = None) -> None:
    """Refuse to start a lab when the environment would send calls elsewhere.

    >>> check_environment({"AWS_PROFILE": "prod"})  # profiles are ignored, not refused
    >>> check_environment({"AWS_ENDPOINT_URL_S3": "http://localhost:4566"})
    >>> check_environment({"AWS_ENDPOINT_URL": "https://proxy.example.com"})
    Traceback (most recent call last):
    ...
    labkit.safety.LabSafetyError: refusing to start the lab: AWS_ENDPOINT_URL='https://proxy.example.com' sends AWS calls to an endpoint off this machine. Unset it (the lab never needs it) and start again.
    """
    environ = os.environ if environ is None else environ
    refusals = _unsafe_settings(environ)
    if refusals:
        problems = "; ".join(f"{r.variable}={r.value!r} {r.reason}" for r in refusals)
        names = ", ".join(r.variable for r in refusals)
        raise LabSafetyError(
            f"refusing to start the lab: {problems}. "
            f"Unset {'it' if len(refusals) == 1 else names} (the lab never needs it) and start again."
        )


def lab_environment(
    environ: Mapping[str, str], *, region: str, config_file: str, credentials_file: str
) -> dict[str, str]:
    """The environment a lab runs in, computed from the learner's.

    Every ``AWS_*`` variable is dropped (with ``MOTO_ACCOUNT_ID`` and ``BOTO_CONFIG``), then
    fake credentials, the region and empty profile files are set.

    >>> env = lab_environment(
    ...     {"AWS_PROFILE": "prod", "AWS_ACCESS_KEY_ID": "AKIAREALLOOKING", "HOME": "/h"},
    ...     region="eu-west-1", config_file="/tmp/c", credentials_file="/tmp/k")
    >>> env["AWS_ACCESS_KEY_ID"] == FAKE_ACCESS_KEY_ID, "AWS_PROFILE" in env, env["HOME"]
    (True, False, '/h')
    >>> env["AWS_CONFIG_FILE"], env["AWS_DEFAULT_REGION"]
    ('/tmp/c', 'eu-west-1')
    """
    env = {
        k: v
        for k, v in environ.items()
        if not k.startswith("AWS_") and k not in _OTHER_VARIABLES
    }
    env.update(
        AWS_ACCESS_KEY_ID=FAKE_ACCESS_KEY_ID,
        AWS_SECRET_ACCESS_KEY=FAKE_SECRET_ACCESS_KEY,
        AWS_DEFAULT_REGION=region,
        AWS_REGION=region,
        AWS_CONFIG_FILE=config_file,
        AWS_SHARED_CREDENTIALS_FILE=credentials_file,
        AWS_EC2_METADATA_DISABLED="true",
    )
    return env


def _operation_of(event_name: str | None) -> str:
    """``before-send.ec2.DescribeInstances`` -> ``ec2:DescribeInstances``.

    >>> _operation_of("before-send.ec2.DescribeInstances")
    'ec2:DescribeInstances'
    >>> _operation_of(None)
    'an AWS call'
    """
    parts = (event_name or "").split(".")
    if len(parts) == 3:
        return f"{parts[1]}:{parts[2]}"
    return "an AWS call"


def _refusal(event_name: str | None, url: str) -> LabSafetyError:
    return LabSafetyError(
        f"refusing to send {_operation_of(event_name)} to {url}: this call would leave the "
        "machine; moto does not serve it (the service or operation is not mocked, or the "
        "client points at a custom endpoint). Labs only talk to moto, in-process."
    )


def _closed(event_name: str | None) -> LabSafetyError:
    return LabSafetyError(
        f"refusing to send {_operation_of(event_name)}: the lab this client was made in is "
        "closed, so moto no longer answers it. Start a lab again (lab = Lab().start()) and "
        "make the client from it.")


def _unmarked(event_name: str | None) -> LabSafetyError:
    return LabSafetyError(
        f"refusing to send {_operation_of(event_name)}: this client was not made from a lab "
        "session, so the lab's AWS rules would not apply: use "
        "lab.session(ACCOUNT).client(SERVICE), or boto3.client(SERVICE) for the management "
        "account.")


def _mark_of(request) -> str | None:
    value = getattr(request, "headers", {}).get(LAB_MARK_HEADER)
    return value.decode() if isinstance(value, bytes) else value


def serve_or_refuse(request=None, event_name: str | None = None, **kwargs):
    """``before-send`` handler: moto answers the request, or the lab refuses it.

    botocore runs every ``before-send`` handler and sends the request itself when none
    answered, so refusing has to sit inside the handler that answers: this one refuses a
    request when no lab is open any more, or when it lacks the open lab's mark
    (:data:`LAB_MARK_HEADER`); then it asks moto's stubber and raises
    :class:`LabSafetyError` when moto has no answer.
    """
    from moto.core.models import botocore_stubber

    if not _open_marks:
        raise _closed(event_name)
    mark = _open_marks[-1]
    if mark is not None and _mark_of(request) != mark:
        raise _unmarked(event_name)
    response = botocore_stubber(request=request, event_name=event_name, **kwargs)
    if response is None:
        raise _refusal(event_name, getattr(request, "url", "?"))
    return response


@contextlib.contextmanager
def moto_only_clients(*, mark: str | None = None) -> Iterator[None]:
    """While active, every botocore session created gets :func:`serve_or_refuse` in place
    of moto's own ``before-send`` handler, so every client is served by moto or refused.

    With a ``mark``, only requests whose :data:`LAB_MARK_HEADER` header carries it are
    served (the lab's sessions set it); others are refused as not made in the lab."""
    from botocore.handlers import BUILTIN_HANDLERS
    from moto.core.models import botocore_stubber

    positions = [i for i, h in enumerate(BUILTIN_HANDLERS) if h[1] is botocore_stubber]
    entry = ("before-send", serve_or_refuse)
    if positions:
        for i in positions:
            BUILTIN_HANDLERS[i] = entry
    else:
        BUILTIN_HANDLERS.append(entry)
    _open_marks.append(mark)
    try:
        yield
    finally:
        _open_marks.pop()
        if positions:
            for i in positions:
                BUILTIN_HANDLERS[i] = ("before-send", botocore_stubber)
        else:
            BUILTIN_HANDLERS.remove(entry)


@contextlib.contextmanager
def guard_http_layer() -> Iterator[None]:
    """While active, botocore cannot open an HTTP connection to a host off the machine.

    This catches clients that moto cannot see (made before the lab started, or with the
    moto handler removed). Loopback hosts stay allowed.
    """
    from botocore.httpsession import URLLib3Session

    original = URLLib3Session.send

    def send(self, request):
        if not is_on_machine(request.url):
            raise LabSafetyError(
                f"refusing to send a request to {request.url}: this call "
                "would leave the machine while a lab is open. The client was not made "
                "inside the lab (was it created before Lab.start()?); use lab.session(...)."
            )
        return original(self, request)

    URLLib3Session.send = send
    try:
        yield
    finally:
        URLLib3Session.send = original
