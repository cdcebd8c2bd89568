"""Lab sessions: a ``boto3.Session`` acting as one role in one account, with the lab's hooks.

Every client made from a lab session carries these botocore event handlers, registered on
the session's event system (so clients inherit them):

- ``before-parameter-build`` keeps the call's parameters for the guards;
- ``before-call`` builds a :class:`LabCall` and runs the lab's guards. A guard returns
  ``None`` to let the call through or a :class:`ServiceError` to refuse it; the refusal is
  answered the way the service answers, so botocore raises the service's own modeled
  exception (``client.exceptions.ConstraintViolationException``, a ``ClientError``).
  A guard may also answer in the service's place with a :class:`ServiceReply`;
- ``before-sign`` marks the request as the lab's (:data:`labkit.safety.LAB_MARK_HEADER`;
  the lab refuses unmarked requests) and pins the account with moto's
  ``x-moto-account-id`` header (moto otherwise finds the account of each request by
  scanning every account's credentials);
- ``before-send``: like every session made while a lab is open, it is answered by moto or
  refused (:func:`labkit.safety.serve_or_refuse`).

How botocore's event system works: https://boto3.amazonaws.com/v1/documentation/api/latest/guide/events.html
"""
from __future__ import annotations

import contextlib
import copy
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import boto3

    from labkit.lab import Lab

__all__ = [
    "LabCall", "ServiceError", "ServiceReply", "install_handlers", "mark_requests",
    "new_botocore_session",
]


@dataclass(frozen=True, kw_only=True)
class LabCall:
    """One AWS call made through a lab session, as a guard sees it, before moto runs it.

    ``params`` are the API parameters (``{"Name": "Prod", "ParentId": "r-abcd"}``);
    ``principal_arn`` is the session's assumed-role ARN.
    """

    service: str
    operation: str
    params: Mapping[str, Any]
    account_id: str
    region: str
    principal_arn: str
    role_arn: str
    lab: Lab = field(repr=False, compare=False)


@dataclass(frozen=True, kw_only=True)
class ServiceError:
    """A refusal, in the service's own words: error code, message, HTTP status, fields.

    ``fields`` are the modeled members of the error shape beyond ``Message`` (for example
    ``{"Reason": "OU_DEPTH_LIMIT_EXCEEDED"}``), which botocore puts at the top level of
    ``ClientError.response``.

    >>> e = ServiceError(code="ConstraintViolationException", message="too deep",
    ...                  fields={"Reason": "OU_DEPTH_LIMIT_EXCEEDED"})
    >>> r = e.parsed_response()
    >>> r["Error"]["Code"], r["Reason"], r["ResponseMetadata"]["HTTPStatusCode"]
    ('ConstraintViolationException', 'OU_DEPTH_LIMIT_EXCEEDED', 400)
    """

    code: str
    message: str
    status: int = 400
    fields: Mapping[str, str] = field(default_factory=dict)

    def parsed_response(self) -> dict[str, Any]:
        """The response dict botocore builds for this error from a JSON-protocol service."""
        request_id = str(uuid.uuid4())
        return {
            "Error": {"Code": self.code, "Message": self.message},
            "ResponseMetadata": {
                "RequestId": request_id,
                "HTTPStatusCode": self.status,
                "HTTPHeaders": {
                    "x-amzn-requestid": request_id,
                    "content-type": "application/x-amz-json-1.1",
                },
                "RetryAttempts": 0,
            },
            "Message": self.message,
            **dict(self.fields),
        }

    def http_response(self):
        """A botocore ``AWSResponse`` carrying the status, for short-circuiting a call."""
        from botocore.awsrequest import AWSResponse

        return AWSResponse(url="labkit://guard", status_code=self.status, headers={}, raw=None)


@dataclass(frozen=True, kw_only=True)
class ServiceReply:
    """A guard's answer in the service's place, for a call the backing store gets wrong.

    ``parsed`` is the operation's response (without ``ResponseMetadata``); botocore returns
    it to the caller as if the service had sent it.
    """

    parsed: Mapping[str, Any]

    def parsed_response(self) -> dict[str, Any]:
        request_id = str(uuid.uuid4())
        return {
            **dict(self.parsed),
            "ResponseMetadata": {
                "RequestId": request_id,
                "HTTPStatusCode": 200,
                "HTTPHeaders": {"x-amzn-requestid": request_id},
                "RetryAttempts": 0,
            },
        }

    def http_response(self):
        from botocore.awsrequest import AWSResponse

        return AWSResponse(url="labkit://guard", status_code=200, headers={}, raw=None)


def install_handlers(
    session: boto3.Session, *, lab: Lab, account_id: str, role_arn: str, principal_arn: str
) -> None:
    """Register the lab's handlers on ``session``'s event system (see the module doc)."""

    def keep_params(params, context, **kwargs):
        context["labkit_params"] = params

    def run_guards(model, context, request_signer, **kwargs):
        lab._check_open()
        call = LabCall(
            service=model.service_model.service_name,
            operation=model.name,
            params=context.get("labkit_params", {}),
            account_id=account_id,
            region=request_signer.region_name,
            principal_arn=principal_arn,
            role_arn=role_arn,
            lab=lab,
        )
        context["labkit_call"] = call
        refusal = lab._run_guards(call)
        if refusal is not None:
            return refusal.http_response(), refusal.parsed_response()
        return None

    def observe(http_response, parsed, context, **kwargs):
        call = context.get("labkit_call")
        if call is not None and http_response.status_code < 300:
            lab._after_call(call, parsed)

    events = session.events
    events.register("before-parameter-build", keep_params)
    events.register("before-call", run_guards)
    events.register("after-call", observe)
    mark_requests(session, mark=lab.mark, account_id=account_id if lab.pin_accounts else None)


def mark_requests(session: boto3.Session, *, mark: str, account_id: str | None) -> None:
    """Register the ``before-sign`` hook that marks ``session``'s requests as the lab's.

    Every request carries the lab's mark in :data:`labkit.safety.LAB_MARK_HEADER` (the
    lab's ``before-send`` handler serves only marked requests) and, with an
    ``account_id``, moto's ``x-moto-account-id`` header naming its account.
    """
    from labkit.safety import LAB_MARK_HEADER

    def before_sign(request, **kwargs):
        request.headers[LAB_MARK_HEADER] = mark
        if account_id is not None:
            request.headers["x-moto-account-id"] = account_id

    session.events.register("before-sign", before_sign)


def new_botocore_session(template):
    """A fresh botocore session sharing ``template``'s loaded models and endpoint data.

    Loading service models and endpoint rules, and registering botocore's built-in event
    handlers, is most of the cost of a new session; starting from a pristine template
    (read-only data shared, the event system copied) makes a thousand sessions cheap
    (``benchmarks/lab_sessions.py``). Each session keeps its own event system.
    """
    import botocore.session

    with contextlib.suppress(AttributeError, ValueError, TypeError):  # private botocore API
        session = botocore.session.Session(
            event_hooks=copy.copy(template._original_handler), include_builtin_handlers=False)
        session.register_component("data_loader", template.get_component("data_loader"))
        for name in ("endpoint_resolver", "exceptions_factory"):
            session._internal_components.register_component(
                name, template._get_internal_component(name))
        return session
    return botocore.session.Session()
