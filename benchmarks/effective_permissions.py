"""How long does the effective-permission table take for a large organization?

Builds a lab from a generated design (50 OUs, 1,000 accounts) with the guardrail library
attached -- deny-leave-organization and deny-root-user at the root, region restriction and
IAM-user denial on two divisions, log-archive protection on another, the Sandbox allow
list on the last -- then times ``effective_permissions`` for 1,000 accounts x 50 actions x
4 Regions (200,000 cells). Target: under 2 s. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/effective_permissions.py [--accounts N] [--ous N]
"""
from __future__ import annotations

import argparse
import time

ACTIONS = [
    "ec2:DescribeInstances", "ec2:RunInstances", "ec2:TerminateInstances", "ec2:CreateVpc",
    "ec2:DescribeRegions", "s3:CreateBucket", "s3:DeleteBucket", "s3:GetObject", "s3:PutObject",
    "s3:ListAllMyBuckets", "s3:PutBucketPolicy", "iam:ListRoles", "iam:CreateRole", "iam:CreateUser",
    "iam:CreateAccessKey", "iam:AttachRolePolicy", "iam:PassRole", "sts:AssumeRole",
    "organizations:LeaveOrganization", "organizations:DescribeOrganization",
    "cloudtrail:StopLogging", "cloudtrail:DeleteTrail", "cloudtrail:LookupEvents",
    "guardduty:DeleteDetector", "guardduty:ListDetectors", "securityhub:DisableSecurityHub",
    "securityhub:GetFindings", "config:StopConfigurationRecorder", "config:DescribeConfigRules",
    "kms:CreateKey", "kms:Decrypt", "kms:ScheduleKeyDeletion", "lambda:CreateFunction",
    "lambda:InvokeFunction", "dynamodb:CreateTable", "dynamodb:GetItem", "rds:CreateDBInstance",
    "rds:DeleteDBInstance", "sqs:SendMessage", "sns:Publish", "logs:DeleteLogGroup",
    "logs:PutLogEvents", "cloudformation:CreateStack", "route53:ChangeResourceRecordSets",
    "cloudfront:CreateDistribution", "support:CreateCase", "ssm:GetParameter",
    "secretsmanager:GetSecretValue", "ecr:PutImage", "eks:CreateCluster",
]
REGIONS = ["us-east-1", "eu-west-1", "ap-south-1", "us-west-2"]


def guarded_design(ous: int, accounts: int):
    from labkit.design import generated_design, load_design

    data = generated_design(ous=ous, accounts=accounts).to_yaml_dict()
    root = data["root"]
    root["policies"] = ["FullAWSAccess", "deny-leave-organization", "deny-root-user",
                        "rcp-org-boundary"]
    extra = [
        ["FullAWSAccess", "deny-regions-outside-approved", "deny-iam-users-and-keys"],
        ["FullAWSAccess", "deny-regions-outside-approved"],
        ["FullAWSAccess", "protect-log-archive", "deny-disable-security-services"],
        ["FullAWSAccess", "deny-iam-users-and-keys"],
        ["sandbox-allow-list"],
    ]
    for i, ou in enumerate(root["ous"]):
        ou["policies"] = extra[i % len(extra)]
    return load_design(data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--ous", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    from labkit.guardrails import effective_permissions
    from labkit.lab import Lab

    design = guarded_design(args.ous, args.accounts)
    with Lab() as lab:
        started = time.perf_counter()
        lab.apply(design)
        built = time.perf_counter() - started
        print(f"lab built: {args.ous} OUs, {args.accounts} accounts in {built:.1f} s")
        times = []
        for run in range(args.repeat):
            from labkit import applicable_policies

            applicable_policies.invalidate(lab)  # cold: read moto's state again every run
            started = time.perf_counter()
            table = effective_permissions(lab, actions=ACTIONS, regions=REGIONS)
            times.append(time.perf_counter() - started)
        cells = table.size
        print(f"effective_permissions: {table.shape[0]} accounts x {len(ACTIONS)} actions x "
              f"{len(REGIONS)} regions = {cells:,} cells, "
              f"{table.attrs['distinct_paths']} distinct SCP paths evaluated")
        print(f"  time per table: best {min(times):.2f} s, median {sorted(times)[len(times) // 2]:.2f} s "
              f"(target < 2 s)")
        counts = table.stack(["action", "region"], future_stack=True).map(
            lambda c: c.split(" ", 1)[0]).value_counts()
        print("  cells: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
