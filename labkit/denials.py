"""Access denied, in each service's own words: error code, HTTP status and message.

Introduced in ``notebooks/02-guardrails.ipynb``; :mod:`labkit.enforcement` answers a denied
lab-session call with :func:`access_denied`.

- The error code and status are the service model's own (:func:`error_style`).
- The message is AWS's: "User: ARN is not authorized to perform: ACTION on resource: ARN
  because no service control policy allows the ACTION action" or "... with an explicit
  deny in a service control policy"; only one policy type is named
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html).
- Since 2025 an explicit deny by an SCP, RCP, permissions boundary or identity-based policy
  ends with the ARN of the denying policy, ``...: arn:aws:organizations::111111111111:policy/
  o-.../service_control_policy/p-...``, but only when the caller is in the same account or
  organization as the policy
  (https://aws.amazon.com/blogs/security/enhanced-access-denied-error-messages-with-policy-arns).
- S3 quotes the resource and gives that context only to callers from the bucket owner's
  account or organization; others get "Access Denied"
  (https://docs.aws.amazon.com/AmazonS3/latest/userguide/troubleshoot-403-errors.html).
- EC2 answers "You are not authorized to perform this operation." followed by the reason
  and an encoded authorization failure message (:func:`encode_failure`), which
  ``sts:DecodeAuthorizationMessage`` turns back into JSON for a caller allowed to call it
  (:func:`decode_authorization_message`, a lab guard; :data:`DECODE_PAGE`).
"""
from __future__ import annotations

import base64
import json
from functools import lru_cache

from labkit.policy import Decision
from labkit.sessions import LabCall, ServiceError, ServiceReply

__all__ = [
    "ACCESS_DENIED_CODES",
    "DECODE_PAGE",
    "access_denied",
    "deciding_policy_arn",
    "decode_authorization_message",
    "decode_failure",
    "denial_message",
    "encode_failure",
    "error_style",
]

DECODE_PAGE = "https://docs.aws.amazon.com/STS/latest/APIReference/API_DecodeAuthorizationMessage.html"
POLICY_ARN_BLOG = "https://aws.amazon.com/blogs/security/enhanced-access-denied-error-messages-with-policy-arns"
#: The codes services use for an authorization failure, as botocore's models name them
#: (the shape's ``error.code`` when it has one, else the shape's name).
ACCESS_DENIED_CODES = ("AccessDenied", "AccessDeniedException", "AuthorizationError")


@lru_cache(maxsize=None)
def error_style(service: str) -> tuple[str, int]:
    """(error code, HTTP status) of an access denial by ``service``, from botocore's model.

    When the service's model defines an access-denied error shape (``AccessDenied`` for S3,
    ``AccessDeniedException`` for most JSON services, ``AuthorizationErrorException`` whose
    wire code is ``AuthorizationError`` for SNS), its code and status are used. EC2 answers
    ``UnauthorizedOperation``
    (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html); a
    service whose model defines none falls back on its protocol's common error: query
    services ``AccessDenied`` (https://docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html),
    JSON services ``AccessDeniedException``; all HTTP 403 (SNS: "AuthorizationError ...
    HTTP Status Code: 403", https://docs.aws.amazon.com/sns/latest/api/API_Publish.html).

    >>> error_style("ec2"), error_style("s3"), error_style("sns"), error_style("cloudtrail")
    (('UnauthorizedOperation', 403), ('AccessDenied', 403), ('AuthorizationError', 403), ('AccessDeniedException', 403))
    """
    if service == "ec2":
        return "UnauthorizedOperation", 403
    import botocore.session

    model = botocore.session.get_session().get_service_model(service)
    for name in model.shape_names:
        if "ccess" not in name and "uthoriz" not in name:
            continue
        shape = model.shape_for(name)
        if not shape.metadata.get("exception"):
            continue
        error = shape.metadata.get("error") or {}
        code = error.get("code", name)
        if code in ACCESS_DENIED_CODES:
            return code, int(error.get("httpStatusCode", 403))
    if model.protocol in ("query", "rest-xml", "ec2"):
        return "AccessDenied", 403
    return "AccessDeniedException", 403


_EXPLICIT = {"scp": "a service control policy", "rcp": "a resource control policy",
             "identity": "an identity-based policy", "boundary": "a permissions boundary",
             "resource": "a resource-based policy", "trust": "a resource-based policy",
             "session": "a session policy"}
_IMPLICIT = {"scp": "service control policy", "rcp": "resource control policy",
             "identity": "identity-based policy", "boundary": "permissions boundary",
             "resource": "resource-based policy", "trust": "resource-based policy",
             "session": "session policy"}


def denial_message(decision: Decision, *, quote_resource: bool = False,
                   policy_arn: str | None = None) -> str:
    """AWS's sentence for a denial (one policy type named, as AWS does), ending with the
    denying policy's ARN when one is given for an explicit deny (see the module doc).

    >>> from labkit.policy import PolicySet, Request, evaluate, parse_policy
    >>> scp = parse_policy({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}, kind="scp")
    >>> r = Request(principal="arn:aws:sts::222222222222:assumed-role/Dev/x", action="ec2:DescribeInstances")
    >>> denial_message(evaluate(r, PolicySet(scps=[[scp]])))
    'User: arn:aws:sts::222222222222:assumed-role/Dev/x is not authorized to perform: ec2:DescribeInstances with an explicit deny in a service control policy'
    >>> arn = "arn:aws:organizations::111111111111:policy/o-a1b2c3d4e5/service_control_policy/p-a1b2c3d4"
    >>> denial_message(evaluate(r, PolicySet(scps=[[scp]])), policy_arn=arn).endswith(f"service control policy: {arn}")
    True
    """
    request = decision.request
    text = f"User: {request.principal} is not authorized to perform: {request.action}"
    if request.resource != "*":
        resource = f'"{request.resource}"' if quote_resource else request.resource
        text += f" on resource: {resource}"
    blocker = decision.blocked_by[0] if decision.blocked_by else "identity"
    blocker = blocker if blocker in _EXPLICIT else "identity"
    if decision.result == "ExplicitlyDenied":
        text = f"{text} with an explicit deny in {_EXPLICIT[blocker]}"
        return f"{text}: {policy_arn}" if policy_arn else text
    return f"{text} because no {_IMPLICIT[blocker]} allows the {request.action} action"


def deciding_policy_arn(lab, decision: Decision) -> str | None:
    """The ARN AWS appends to an explicit deny, or None (:data:`POLICY_ARN_BLOG`).

    Only SCPs, RCPs, permissions boundaries and managed identity-based policies have one
    (an inline policy or a resource-based policy has no ARN), and only a caller in the
    policy's account or organization is told it.
    """
    if decision.result != "ExplicitlyDenied" or not decision.blocked_by or not decision.deciding:
        return None
    from labkit import applicable_policies as ap

    kind, name = decision.blocked_by[0], decision.deciding[0][0]
    caller = decision.request.principal_account
    if kind in ("scp", "rcp"):
        view = ap.org_view(lab)
        if view is None or (caller not in view.places and caller != view.management_account_id):
            return None
        return ap.org_policy_arn(lab, kind, name)
    if kind in ("identity", "boundary"):
        return ap.identity_policies(decision.request.principal).policy_arn(name)
    return None


def access_denied(call: LabCall, decision: Decision) -> ServiceError:
    """The error ``call``'s service returns for ``decision``, with labkit's explanation in
    the response's ``LabkitExplanation`` field (the message stays AWS's)."""
    from labkit import applicable_policies as ap

    code, status = error_style(call.service)
    request = decision.request
    arn = deciding_policy_arn(call.lab, decision)
    if call.service == "s3":
        view = ap.org_view(call.lab)
        caller, owner = request.principal_account, request.resource_account
        same_org = view is not None and caller in view.places and owner in view.places
        message = (denial_message(decision, quote_resource=True, policy_arn=arn)
                   if caller == owner or same_org else "Access Denied")
    elif code == "UnauthorizedOperation":
        message = (f"You are not authorized to perform this operation. "
                   f"{denial_message(decision, policy_arn=arn)}. "
                   f"Encoded authorization failure message: {encode_failure(decision)}")
    else:
        message = denial_message(decision, policy_arn=arn)
    return ServiceError(code=code, message=message, status=status,
                        fields={"LabkitExplanation": str(decision)})


def encode_failure(decision: Decision) -> str:
    """The lab's encoded authorization failure message, for EC2 denials.

    AWS's encoded message is opaque: only ``sts:DecodeAuthorizationMessage`` (with
    permission for it) turns it into JSON
    (https://docs.aws.amazon.com/STS/latest/APIReference/API_DecodeAuthorizationMessage.html).
    The lab's is, for teaching, *readable*: the same JSON shape that call documents
    (allowed, explicitDeny, matchedStatements, context), base64url-encoded without padding,
    so a learner can decode it with ``base64`` alone.

    >>> from labkit.policy import PolicySet, Request, evaluate
    >>> d = evaluate(Request(principal="arn:aws:iam::222222222222:user/a", action="ec2:RunInstances"), PolicySet())
    >>> raw = encode_failure(d); json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))["allowed"]
    False
    """
    request = decision.request
    body = {
        "allowed": False,
        "explicitDeny": decision.result == "ExplicitlyDenied",
        "matchedStatements": {"items": [{"policy": p, "statement": s} for p, s in decision.deciding]},
        "context": {
            "principal": {"arn": request.principal},
            "action": request.action,
            "resource": request.resource,
            "conditions": {"items": [
                {"key": k, "values": {"items": [{"value": v} for v in vs]}}
                for k, vs in sorted(request.context_values.items())]},
        },
    }
    raw = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_failure(encoded: str) -> str:
    """The JSON text :func:`encode_failure` encoded; ``ValueError`` if ``encoded`` is not one.

    >>> from labkit.policy import PolicySet, Request, evaluate
    >>> d = evaluate(Request(principal="arn:aws:iam::222222222222:user/a", action="ec2:RunInstances"), PolicySet())
    >>> json.loads(decode_failure(encode_failure(d)))["context"]["action"]
    'ec2:RunInstances'
    >>> decode_failure("not a message")
    Traceback (most recent call last):
    ...
    ValueError: not an encoded authorization failure message of this lab
    """
    try:
        text = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
        body = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict) or not {"allowed", "explicitDeny", "context"} <= set(body):
        raise ValueError("not an encoded authorization failure message of this lab")
    return text


def decode_authorization_message(call: LabCall) -> ServiceError | ServiceReply | None:
    """The lab guard answering ``sts:DecodeAuthorizationMessage`` (moto does not implement it).

    AWS requires the caller to be allowed ``sts:DecodeAuthorizationMessage`` (:data:`DECODE_PAGE`):
    the lab's authorization guard decides that first, like any call. A message the lab did
    not encode is ``InvalidAuthorizationMessageException`` (HTTP 400, botocore's model).
    """
    if call.service != "sts" or call.operation != "DecodeAuthorizationMessage":
        return None
    try:
        decoded = decode_failure(str(call.params.get("EncodedMessage", "")))
    except ValueError:
        return ServiceError(
            code="InvalidAuthorizationMessageException",
            message="The message passed to DecodeAuthorizationMessage is not a valid encoded "
                    "authorization message.")
    return ServiceReply(parsed={"DecodedMessage": decoded})
