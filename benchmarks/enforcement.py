"""What does enforcement add to a call? Calls per second through a lab session, with and without.

Builds a lab from the bundled ``recommended`` design (SCPs and RCPs from the policy
library), then makes the same mix of allowed calls through lab sessions of a Workloads
account -- EC2 DescribeInstances, IAM ListRoles, S3 GetObject on a bucket of its own,
STS GetCallerIdentity -- in alternating blocks with ``lab.enforce`` on and off, so both
are measured in the same run under the same conditions. Also times ``decide`` alone (the
guard's work without moto). Target: enforcement adds under 30% per call. Prints figures;
asserts nothing. ``--accounts N`` first adds N more member accounts, spread over the design's
OUs, to check that the overhead holds in a large organization.

    .venv/bin/python benchmarks/enforcement.py [--calls N] [--accounts N]
"""
from __future__ import annotations

import argparse
import statistics
import time


def build(extra_accounts: int = 0):
    from labkit import enforcement
    from labkit.design import load_design
    from labkit.lab import Lab

    lab = Lab().start()
    enforcement.install(lab)
    applied = lab.apply(load_design("recommended"))
    if extra_accounts:
        org = lab.session("management").client("organizations")
        ous = [ou for path, ou in applied.ou_ids.items() if path != "Root"]
        for i in range(extra_accounts):
            account = org.create_account(AccountName=f"extra-{i:04d}", Email=f"extra-{i:04d}@example.com")
            org.move_account(AccountId=account["CreateAccountStatus"]["AccountId"],
                             SourceParentId=applied.root_id, DestinationParentId=ous[i % len(ous)])
    session = lab.session("prod-app", region="eu-west-1")
    s3 = session.client("s3")
    s3.create_bucket(Bucket="bench-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.put_object(Bucket="bench-bucket", Key="k", Body=b"x")
    clients = {name: session.client(name) for name in ("ec2", "iam", "sts")}
    calls = [
        lambda: clients["ec2"].describe_instances(),
        lambda: clients["iam"].list_roles(),
        lambda: s3.get_object(Bucket="bench-bucket", Key="k")["Body"].read(),
        lambda: clients["sts"].get_caller_identity(),
    ]
    for call in calls:  # warm up botocore's models and labkit's caches
        call()
    return lab, calls


def interleaved(lab, calls, count: int) -> tuple[list[float], list[float]]:
    """Seconds per call with and without enforcement: each call of the mix is made twice in a
    row, once each way (which goes first alternates), so both see the same machine load."""
    on, off = [], []
    clock = time.perf_counter
    for i in range(count):
        call = calls[i % len(calls)]
        for flag in ((True, False) if i % 2 else (False, True)):
            lab.enforce = flag
            start = clock()
            call()
            (on if flag else off).append(clock() - start)
    lab.enforce = True
    return on, off


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000, help="calls of each kind (default 2000)")
    parser.add_argument("--accounts", type=int, default=0, help="extra member accounts (default 0)")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    lab, calls = build(args.accounts)
    print(f"lab with the recommended design and {args.accounts} extra accounts built in "
          f"{time.perf_counter() - t0:.2f} s")
    try:
        on, off = interleaved(lab, calls, args.calls)
        from labkit import enforcement

        start = time.perf_counter()
        n = 2000
        for _ in range(n):
            enforcement.decide(lab, account="prod-app", service="ec2", operation="DescribeInstances",
                               params={}, region="eu-west-1")
        decide_us = (time.perf_counter() - start) / n * 1e6
    finally:
        lab.close()
    off_s, on_s = statistics.mean(off), statistics.mean(on)
    off_m, on_m = statistics.median(off), statistics.median(on)
    print(f"{args.calls} calls each way (EC2, IAM, S3, STS in turn), interleaved call by call")
    print(f"without enforcement: {1 / off_s:8.0f} calls/s  (mean {off_s * 1e3:.3f} ms, median {off_m * 1e3:.3f} ms)")
    print(f"with enforcement:    {1 / on_s:8.0f} calls/s  (mean {on_s * 1e3:.3f} ms, median {on_m * 1e3:.3f} ms)")
    print(f"overhead per call:   {(on_s - off_s) * 1e3:.3f} ms = {(on_s / off_s - 1) * 100:.1f}% of the mean, "
          f"{(on_m / off_m - 1) * 100:.1f}% of the median (target < 30%)")
    print(f"decide() alone (request_for + evaluate, no moto): {decide_us:.0f} us per request")


if __name__ == "__main__":
    main()
