"""How fast labkit turns boto3 calls into IAM requests (labkit/operations.py).

Prints the one-time cost of loading the map and the per-call cost of ``operation_request``
for a mix of mapped and unmapped calls. Run: ``.venv/bin/python benchmarks/operations.py``.
"""
from __future__ import annotations

import time

CALLS = [
    ("s3", "GetObject", {"Bucket": "data", "Key": "reports/q1.csv"}),
    ("s3", "ListObjectsV2", {"Bucket": "logs", "Prefix": "AWSLogs/"}),
    ("sts", "AssumeRole", {"RoleArn": "arn:aws:iam::222222222222:role/Audit",
                           "RoleSessionName": "me", "ExternalId": "x"}),
    ("ec2", "RunInstances", {"ImageId": "ami-1", "InstanceType": "t3.micro", "MinCount": 1,
                             "MaxCount": 1, "SecurityGroupIds": ["sg-1", "sg-2"]}),
    ("cloudtrail", "StopLogging", {"Name": "lz-organization-trail"}),
    ("organizations", "ListAccounts", {}),
    ("kms", "Encrypt", {"KeyId": "alias/app", "Plaintext": b"x"}),
    ("ec2", "DescribeFleets", {}),
]


def main() -> None:
    start = time.perf_counter()
    from labkit.operations import operation_map, operation_request
    operation_map()
    load = time.perf_counter() - start
    rounds = 20000
    start = time.perf_counter()
    for _ in range(rounds):
        for service, operation, params in CALLS:
            operation_request(service, operation, params, "111111111111", "eu-west-1")
    elapsed = time.perf_counter() - start
    calls = rounds * len(CALLS)
    print(f"map load (first use): {load * 1000:.1f} ms")
    print(f"operation_request: {calls / elapsed:,.0f} calls/s ({elapsed / calls * 1e6:.1f} us/call) "
          f"over {calls:,} calls")


if __name__ == "__main__":
    main()
