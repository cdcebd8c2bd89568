"""Which IAM request a boto3 call is: the action, the resource ARNs and the request's condition keys.

Introduced in ``notebooks/02-guardrails.ipynb``. A boto3 operation and the IAM action that
authorizes it often share a name, but not always: S3's ``ListObjectsV2`` is authorized as
``s3:ListBucket`` and ``HeadObject`` as ``s3:GetObject``; IAM Identity Center's ``sso-admin``
client signs as the ``sso`` service. The Service Authorization Reference defines, per action,
the resource types and condition keys
(https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html),
and the map in ``labkit/data/operations.yaml`` records it, operation by operation, with the
ARN formats of that reference. This module is its small interpreter.

>>> r = operation_request("s3", "ListObjectsV2", {"Bucket": "logs", "Prefix": "AWSLogs/"},
...                       "111111111111", "eu-west-1")
>>> r.action, r.resources, r.context["s3:prefix"]
('s3:ListBucket', ('arn:aws:s3:::logs',), 'AWSLogs/')

An operation outside the map is authorized as ``service:Operation`` on ``*`` and marked as a
gap (``mapped`` is false); :func:`unmapped_operations` lists every such operation.

Map syntax (``operations.yaml``): per boto3 service, ``prefix`` (the IAM service prefix),
``star`` (operations whose action has the same name and no resource ARN the map builds),
``approximate`` (operations authorized on ``*`` although the reference names a resource type),
``renamed`` (operation -> action, on ``*``) and ``operations`` (operation -> ``action``,
``when`` (parameter -> the action used when the call has it, as S3's ``VersionId``),
``resources``, ``context``, ``tags``). In a resource template, ``{partition}``,
``{region}``, ``{account}`` come from the call, ``{organization_id}`` and
``{management_account}`` from ``lookup`` (the resource is ``*`` when they are unknown), and
``{Param}`` from the request parameters; ``{Param=default}`` gives a default,
``{Param[]}`` makes one resource per list item, and a conversion ``{Param:arn}`` uses the
parameter as the whole resource when it is already an ARN (``:kms`` also resolves key
aliases; ``:org`` builds an Organizations ARN from an id, ``:ec2`` an EC2 ARN from a
resource id). A template starting with ``?`` is left out when its
parameters are missing. A context entry maps a condition key to a parameter path
(``Param``, ``Param.Field``, ``Param[].Field``), a conversion (``Param:policy_type``,
``Param:alias``, ``Param:keys``) or a literal (``=value``).
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from labkit.resource_arns import AWS_POLICY_TYPES, ec2_arn, org_arn

__all__ = [
    "OperationMapError",
    "OperationRequest",
    "operation_map",
    "operation_request",
    "iam_prefix",
    "GLOBAL_ENDPOINTS",
    "requested_region",
    "mapped_operations",
    "unmapped_operations",
]


_MAP_PATH = Path(__file__).parent / "data" / "operations.yaml"
_FIELD = re.compile(r"\{([^{}]+)\}")


#: IAM service prefix -> the Region of the service's one global endpoint. A request to such a
#: service is served there whatever Region the client names, so its ``aws:RequestedRegion`` is
#: that Region ("Some global services, such as IAM, have a single endpoint ... located in the US
#: East (N. Virginia) Region":
#: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-requestedregion;
#: the SCP example exempting global services:
#: https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_examples_general.html#example-scp-deny-region).
#: Each Region is the credential scope of the service's ``aws-global`` partition endpoint in
#: botocore's ``data/endpoints.json`` (``partitionEndpoint``, ``isRegionalized: false``).
GLOBAL_ENDPOINTS = {"iam": "us-east-1", "organizations": "us-east-1", "cloudfront": "us-east-1",
                    "route53": "us-east-1", "budgets": "us-east-1", "ce": "us-east-1",
                    "waf": "us-east-1", "shield": "us-east-1", "support": "us-east-1",
                    "health": "us-east-1"}


def requested_region(prefix: str, region: str) -> str:
    """``aws:RequestedRegion`` of a request to service ``prefix`` (an IAM service prefix, or a
    whole action) made by a client of ``region``: the global endpoint's Region for a service
    in :data:`GLOBAL_ENDPOINTS`, else ``region``.

    >>> requested_region("cloudfront", "eu-west-1"), requested_region("iam:ListRoles", "ap-south-1")
    ('us-east-1', 'us-east-1')
    >>> requested_region("ec2", "eu-west-1")
    'eu-west-1'
    """
    return GLOBAL_ENDPOINTS.get(prefix.split(":", 1)[0].lower(), region)


class OperationMapError(ValueError):
    """A call the map cannot turn into a request (a required parameter is missing), or a
    malformed map entry; the message names the service, the operation and the field."""


@dataclass(frozen=True, kw_only=True)
class OperationRequest:
    """The IAM request a boto3 call makes.

    ``action`` is ``prefix:Action`` as IAM names it, ``resources`` the resource ARNs it is
    authorized against (``("*",)`` when the action has no resource type), ``context`` the
    request-specific condition keys derived from the parameters (plus ``aws:RequestedRegion``;
    the caller adds the principal's global keys). ``mapped`` is false for a fallback guess.
    """

    action: str
    resources: tuple[str, ...]
    context: dict = field(default_factory=dict, hash=False, compare=True)
    service: str = ""
    operation: str = ""
    mapped: bool = True


@functools.cache
def operation_map() -> dict:
    """The map as loaded from ``labkit/data/operations.yaml`` (cached; read on first use)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        data = yaml.load(_MAP_PATH.read_text(), Loader=loader)  # noqa: S506 (a safe loader)
    except yaml.YAMLError as exc:
        raise OperationMapError(f"{_MAP_PATH}: not valid YAML: {exc}") from None
    services = data.get("services") if isinstance(data, dict) else None
    if not isinstance(services, dict):
        raise OperationMapError(f"{_MAP_PATH}: top level must have a 'services' mapping")
    table: dict[str, dict] = {}
    for service, spec in services.items():
        where = f"{_MAP_PATH.name}: {service}"
        if not isinstance(spec, dict) or not isinstance(spec.get("prefix"), str):
            raise OperationMapError(f"{where}: needs a 'prefix' (the IAM service prefix)")
        entries: dict[str, dict] = {}
        for name in spec.get("star") or ():
            entries[name] = {"action": name}
        for name, action in (spec.get("renamed") or {}).items():
            entries[name] = {"action": action}
        for name, entry in (spec.get("operations") or {}).items():
            if not isinstance(entry, dict):
                raise OperationMapError(f"{where}.{name}: an operation entry is a mapping")
            unknown = set(entry) - {"action", "when", "resources", "context", "tags"}
            if unknown:
                raise OperationMapError(f"{where}.{name}: unknown fields {sorted(unknown)}")
            entries[name] = {"action": name, **entry}
        table[service] = {"prefix": spec["prefix"],
                          "approximate": tuple(spec.get("approximate") or ()),
                          "operations": entries}
    return table


def iam_prefix(service: str) -> str:
    """The IAM service prefix of a boto3 service name.

    >>> iam_prefix("sso-admin"), iam_prefix("s3")
    ('sso', 's3')
    """
    spec = operation_map().get(service)
    return spec["prefix"] if spec else service


def mapped_operations(service: str | None = None) -> dict[str, tuple[str, ...]]:
    """Per boto3 service, the operations the map covers (sorted)."""
    services = [service] if service else sorted(operation_map())
    return {s: tuple(sorted(operation_map().get(s, {}).get("operations", {}))) for s in services}


def unmapped_operations(service: str | None = None) -> dict[str, tuple[str, ...]]:
    """Per boto3 service, the operations in botocore's model that the map does not cover.

    ``service`` limits the answer to one boto3 service (it may be one the map lacks
    entirely); by default every service in the map is listed.
    """
    import botocore.session

    session = botocore.session.get_session()
    services = [service] if service else sorted(operation_map())
    gaps = {}
    for name in services:
        model = session.get_service_model(name)
        covered = operation_map().get(name, {}).get("operations", {})
        gaps[name] = tuple(op for op in sorted(model.operation_names) if op not in covered)
    return gaps


def operation_request(service: str, operation: str, params: Mapping[str, Any] | None,
                      account_id: str, region: str, partition: str = "aws", *,
                      lookup: Mapping[str, Any] | None = None) -> OperationRequest:
    """The IAM request that ``client(service).operation(**params)`` makes.

    ``account_id`` and ``region`` are the caller's (the account that owns resources named
    without an account, the client's Region). ``lookup`` supplies what only the live state
    knows: ``organization_id``, ``management_account``, ``kms_aliases`` (alias name ->
    key id or ARN) and ``policy_types`` (Organizations policy id -> type).

    >>> operation_request("sts", "AssumeRole", {"RoleArn": "arn:aws:iam::222222222222:role/Audit",
    ...     "RoleSessionName": "me", "ExternalId": "x-1"}, "111111111111", "us-east-1").context
    {'sts:RoleSessionName': 'me', 'sts:ExternalId': 'x-1', 'aws:RequestedRegion': 'us-east-1'}
    >>> r = operation_request("ec2", "DescribeFleets", {}, "111111111111", "us-east-1")
    >>> r.action, r.resources, r.mapped
    ('ec2:DescribeFleets', ('*',), False)
    """
    params = dict(params or {})
    lookup = lookup or {}
    spec = operation_map().get(service)
    entry = spec["operations"].get(operation) if spec else None
    prefix = spec["prefix"] if spec else service
    requested = requested_region(prefix, region)
    if entry is None:
        return OperationRequest(action=f"{prefix}:{operation}", resources=("*",),
                                context={"aws:RequestedRegion": requested},
                                service=service, operation=operation, mapped=False)
    where = f"{service}.{operation}"
    env = {"partition": partition, "region": region, "account": account_id}
    resources: list[str] = []
    for template in entry.get("resources") or ("*",):
        resources.extend(_expand(template, params, env, lookup, where))
    context: dict[str, Any] = {}
    for key, path in (entry.get("context") or {}).items():
        value = _context_value(path, params, lookup, where)
        if value is not None:
            context[key] = value
    if entry.get("tags"):
        context.update(_tags(_get(params, entry["tags"])))
    context["aws:RequestedRegion"] = requested
    action = entry["action"]
    for param, variant in (entry.get("when") or {}).items():
        if params.get(param) is not None:
            action = variant
    action = action if ":" in action else f"{prefix}:{action}"
    return OperationRequest(action=action, resources=tuple(dict.fromkeys(resources)) or ("*",),
                            context=context, service=service, operation=operation)


class _Missing(Exception):
    pass


def _get(params: Mapping[str, Any], path: str):
    """A value at a dotted path; ``[]`` maps over a list."""
    values: list = [params]
    for part in path.split("."):
        many = part.endswith("[]")
        name = part[:-2] if many else part
        found = []
        for value in values:
            if (isinstance(value, dict) or isinstance(value, Mapping)) and value.get(name) is not None:
                item = value[name]
                if many:
                    found.extend(item if isinstance(item, list) else [item])
                else:
                    found.append(item)
        if not found:
            return None
        values = found
    return values if "[]" in path else values[0]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _convert(kind: str, value: str, env: dict, lookup: Mapping[str, Any], where: str):
    """(whole resource or None, text for the template) for a ``{Param:kind}`` field."""
    if kind == "arn":
        return (value, value) if value.startswith("arn:") else (None, value)
    if kind == "kms":
        if value.startswith("arn:"):
            return value, value
        if value.startswith("alias/"):
            target = (lookup.get("kms_aliases") or {}).get(value)
            if target:
                return _convert("kms", target, env, {}, where)
            return f"arn:{env['partition']}:kms:{env['region']}:{env['account']}:{value}", value
        return None, value
    if kind == "org":
        return org_arn(value, env, lookup), value
    if kind == "ec2":
        return ec2_arn(value, env), value
    raise OperationMapError(f"{where}: unknown conversion ':{kind}'")


@functools.lru_cache(maxsize=4096)
def _compile(template: str) -> tuple[bool, tuple[tuple[str, str, str, str], ...], str]:
    """(optional, fields as (literal before, name, default, conversion), literal tail)."""
    optional = template.startswith("?")
    template = template.lstrip("?")
    fields, pos = [], 0
    for match in _FIELD.finditer(template):
        name, _, default = match.group(1).partition("=")
        name, _, kind = name.partition(":")
        fields.append((template[pos:match.start()], name, default, kind))
        pos = match.end()
    return optional, tuple(fields), template[pos:]


def _expand(template: str, params: Mapping[str, Any], env: dict, lookup: Mapping[str, Any],
            where: str) -> list[str]:
    optional, fields, tail = _compile(template)
    results = [("", None)]  # (text so far, whole-resource override) per expansion
    for literal, name, default, kind in fields:
        if name in env:
            values = [env[name]]
        elif name in ("organization_id", "management_account"):
            if not lookup.get(name):
                return ["*"]
            values = [str(lookup[name])]
        else:
            raw = _get(params, name)
            if raw is None:
                if default:
                    raw = default
                elif optional:
                    return []
                else:
                    raise OperationMapError(f"{where}: required parameter {name.rstrip('[]')!r} "
                                            "is missing")
            values = [_text(v) for v in raw] if isinstance(raw, list) else [_text(raw)]
        expanded = []
        for text, whole in results:
            for value in values:
                override, part = (None, value) if not kind else _convert(kind, value, env,
                                                                         lookup, where)
                expanded.append((text + literal + part, whole or override))
        results = expanded
    return [whole or text + tail for text, whole in results]


def _context_value(path: str, params: Mapping[str, Any], lookup: Mapping[str, Any], where: str):
    if path.startswith("="):
        return path[1:]
    path, _, kind = path.partition(":")
    raw = _get(params, path)
    if raw is None:
        return None
    if kind == "policy_type":
        types = {**AWS_POLICY_TYPES, **(lookup.get("policy_types") or {})}
        return types.get(raw)
    if kind == "alias":
        return raw if isinstance(raw, str) and raw.startswith("alias/") else None
    if kind == "keys":
        return sorted(str(k) for k in raw) if isinstance(raw, Mapping) else None
    if kind:
        raise OperationMapError(f"{where}: unknown context conversion ':{kind}'")
    return [_text(v) for v in raw] if isinstance(raw, list) else _text(raw)


def _tags(tags: Any) -> dict:
    """``aws:RequestTag/<key>`` and ``aws:TagKeys`` for tags given as a list of
    ``{Key, Value}`` (or ``{TagKey, TagValue}``) objects, or a mapping
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_tags.html)."""
    if tags is None:
        return {}
    if isinstance(tags, Mapping):
        pairs = [(str(k), _text(v)) for k, v in tags.items()]
    else:
        pairs = []
        for tag in tags:
            if isinstance(tag, list):  # a flattened list of lists (EC2 TagSpecifications)
                pairs.extend((str(t.get("Key")), _text(t.get("Value", ""))) for t in tag)
            elif isinstance(tag, Mapping):
                key = tag.get("Key", tag.get("TagKey"))
                pairs.append((str(key), _text(tag.get("Value", tag.get("TagValue", "")))))
    context: dict[str, Any] = {f"aws:RequestTag/{k}": v for k, v in pairs}
    if pairs:
        context["aws:TagKeys"] = [k for k, _ in pairs]
    return context
