"""Policy engine speed: simulate throughput over sample.jsonl, and the effective-permission matrix.

Run: ``.venv/bin/python benchmarks/policy_engine.py [path/to/sample.jsonl]``. Prints figures;
asserts nothing (targets, on the lab's 2-core machine: >= 15,000 cases/s; matrix < 2 s).
Wall-clock and CPU time are both shown: other work on a shared machine inflates wall time.

The first simulate pass (issue 3's figure: every distinct policy is parsed) happens once
per process, so it is timed in several fresh processes, after their imports, and the
median is reported. Each of those processes also times a reference on the same text
first: the standard library's C JSON decoder over every line, with no evaluation at all.
Its rate says how fast this machine is at that moment; the ratio of the two does not
depend on it (the shared machine's speed varied by 1.5x within minutes while this was
written), so compare sessions and machines by the ratio. The command itself is then
timed in fresh processes, interpreter start and imports included, with the start-up alone
timed beside it. Last, a bound (see :func:`bound`) says how fast this engine's first pass could be at
best, with a parser that did no more than it must.
"""
from __future__ import annotations

import gc
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from labkit.policy import Level, parse_policy  # noqa: E402
from labkit.policy.matching import compile_actions  # noqa: E402
from labkit.policy.matrix import effective_permissions  # noqa: E402
from labkit.policy.simulate import simulate_lines  # noqa: E402

SAMPLE = ROOT.parent / "shared" / "policy-cases" / "sample.jsonl"


def timed(func):
    wall, cpu = time.perf_counter(), time.process_time()
    value = func()
    return value, time.perf_counter() - wall, time.process_time() - cpu


FIRST_PASS = "--first-pass"  # the child mode: print one first pass's figures as JSON


def first_pass(path: Path) -> dict:
    """In this (fresh) process: the reference (json.loads of every line, collected away
    afterwards), then simulate's first pass over the same lines."""
    lines = path.read_text(encoding="utf-8").splitlines()
    gc.collect()
    _, reference, _ = timed(lambda: [json.loads(line) for line in lines])
    gc.collect()
    rows, wall, cpu = timed(lambda: list(simulate_lines(lines)))
    return {"cases": len(rows), "errors": sum(r["error"] is not None for r in rows),
            "wall": wall, "cpu": cpu, "reference": reference}


def bench_simulate(path: Path, processes: int = 7, repeats: int = 7) -> None:
    runs = []
    for _ in range(processes):
        out = subprocess.run([sys.executable, __file__, FIRST_PASS, str(path)], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout
        runs.append(json.loads(out))
    cases, errors = runs[0]["cases"], runs[0]["errors"]
    wall = statistics.median(r["wall"] for r in runs)
    cpu = statistics.median(r["cpu"] for r in runs)
    best = min(r["wall"] for r in runs)
    reference = statistics.median(r["reference"] for r in runs)
    ratio = statistics.median(r["wall"] / r["reference"] for r in runs)
    print(f"simulate, first pass (parsing every distinct policy), median of {processes} fresh processes: "
          f"{cases} cases in {wall * 1e3:.0f} ms = {cases / wall:,.0f} cases/s wall "
          f"({cases / cpu:,.0f} CPU), best {cases / best:,.0f}; {errors} errors")
    print(f"reference in the same processes, json.loads of every line and nothing else: "
          f"{reference * 1e3:.0f} ms = {cases / reference:,.0f} lines/s; the first pass takes "
          f"{ratio:.2f}x as long (median ratio); 15,000 cases/s would be {cases / 15:,.0f} ms here")
    lines = path.read_text(encoding="utf-8").splitlines()
    list(simulate_lines(lines))  # parse everything once in this process
    rates = []
    for _ in range(repeats):
        rows, wall, cpu = timed(lambda: list(simulate_lines(lines)))
        rates.append((len(rows) / wall, len(rows) / cpu))
    walls, cpus = sorted(r[0] for r in rates), sorted(r[1] for r in rates)
    print(f"simulate, {repeats} more passes (JSON decoding and case building included; parsed "
          f"policies cached): median {walls[repeats // 2]:,.0f} cases/s wall "
          f"({cpus[repeats // 2]:,.0f} CPU), best {walls[-1]:,.0f} wall ({cpus[-1]:,.0f} CPU)")
    bound(lines, walls[-1])


POLICY_FIELDS = ("identity_policies", "permissions_boundary", "scps", "rcps", "resource_policy")


def distinct_policies(lines: list[str]) -> set[str]:
    """Each distinct policy document's text (the sample is compact JSON, re-encoded exactly)."""
    texts = set()
    for line in lines:
        case = json.loads(line)
        for field in POLICY_FIELDS:
            value = case.get(field)
            if value is None:
                continue
            docs = [doc for level in value for doc in level] if field in ("scps", "rcps") else \
                value if field == "identity_policies" else [value]
            texts.update(json.dumps(doc, separators=(",", ":")) for doc in docs)
    return texts


STATEMENT_KEYS = frozenset({"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource",
                            "Principal", "NotPrincipal", "Condition"})


def least_parse(docs: list[dict]) -> int:
    """The least any parser must do with each decoded statement before a request can be
    checked against it: check its keys and Effect, and find the matcher for its actions
    (cached by pattern, as the engine's are). No objects are built; returns the count."""
    matchers: dict = {}
    count = 0
    for doc in docs:
        statements = doc["Statement"]
        for statement in ([statements] if type(statements) is dict else statements):
            if not statement.keys() <= STATEMENT_KEYS or statement.get("Effect") not in ("Allow", "Deny"):
                raise ValueError("not a statement the sample should hold")
            patterns = statement.get("Action", statement.get("NotAction"))
            key = (patterns,) if type(patterns) is str else tuple(patterns)
            if key not in matchers:
                matchers[key] = compile_actions(key)
            count += 1
    return count


def bound(lines: list[str], best_warm_rate: float) -> None:
    """A lower bound on this engine's first pass, however its parsing were written, as long
    as it decodes each distinct policy with the standard library: the best warm pass (cutting
    lines, reading requests, building cases, evaluating; every policy already parsed), plus
    decoding each distinct policy once, plus :func:`least_parse` over their statements."""
    texts = sorted(distinct_policies(lines))
    decode = min(timed(lambda: [json.loads(t) for t in texts])[1] for _ in range(5))
    docs = [json.loads(t) for t in texts]
    compile_actions.cache_clear()
    statements, parse, _ = timed(lambda: least_parse(docs))  # once: matchers compile the first time
    cases = len(lines)
    floor = cases / best_warm_rate + decode + parse
    print(f"bound: best warm pass {cases / best_warm_rate * 1e3:.1f} ms + decoding the {len(texts):,} distinct "
          f"policies once {decode * 1e3:.1f} ms + the least parsing of their {statements:,} statements "
          f"{parse * 1e3:.1f} ms = {floor * 1e3:.1f} ms, {cases / floor:,.0f} cases/s at most for this "
          f"engine's first pass (15,000 cases/s is {cases / 15:,.0f} ms)")


def child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_fresh(args: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one fresh ``python`` process (output discarded)."""
    wall, cpu = time.perf_counter(), child_cpu()
    subprocess.run([sys.executable, *args], cwd=ROOT, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - wall, child_cpu() - cpu


def bench_command(path: Path, cases: int, repeats: int = 5) -> None:
    runs = [run_fresh(["-m", "labkit.policy", "simulate", str(path)]) for _ in range(repeats)]
    starts = [run_fresh(["-c", "import labkit.policy.cli, labkit.policy.simulate"]) for _ in range(repeats)]
    wall, cpu = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
    start_wall, start_cpu = statistics.median(r[0] for r in starts), statistics.median(r[1] for r in starts)
    print(f"python -m labkit.policy simulate, fresh process, median of {repeats}: {wall:.3f} s wall, "
          f"{cpu:.3f} s CPU = {cases / wall:,.0f} cases/s wall, {cases / cpu:,.0f} CPU with start-up; "
          f"start-up alone (interpreter + imports) {start_wall:.3f} s wall, {start_cpu:.3f} s CPU, so "
          f"{cases / max(cpu - start_cpu, 1e-9):,.0f} cases/s CPU after it")


SERVICES = ["s3", "ec2", "iam", "kms", "sts", "cloudtrail", "config", "organizations", "lambda",
            "dynamodb", "rds", "sqs", "sns", "logs", "cloudwatch", "securityhub", "guardduty",
            "secretsmanager", "ecr", "ecs"]
VERBS = ["Get", "List", "Describe", "Create", "Delete", "Put", "Update", "Tag", "Untag", "Stop"]
REGIONS = ["us-east-1", "eu-west-1", "ap-south-1", "sa-east-1"]


def scp_library(rng: random.Random) -> list:
    actions = [f"{s}:{v}*" for s in SERVICES for v in VERBS]
    docs = []
    for i in range(12):  # deny lists
        docs.append({"Statement": [{"Sid": f"DenyList{i}", "Effect": "Deny",
                                    "Action": rng.sample(actions, rng.randint(2, 8)), "Resource": "*"}]})
    for i, allowed in enumerate((["us-east-1", "eu-west-1"], ["us-east-1"], ["eu-west-1", "ap-south-1"])):
        docs.append({"Statement": [{"Sid": f"RegionGuard{i}", "Effect": "Deny",
                                    "NotAction": ["iam:*", "sts:*", "organizations:*", "cloudfront:*"],
                                    "Resource": "*",
                                    "Condition": {"StringNotEquals": {"aws:RequestedRegion": allowed}}}]})
    for i in range(4):  # protected logging with a break-glass exemption (reads aws:PrincipalArn)
        docs.append({"Statement": [{"Sid": f"ProtectLogging{i}", "Effect": "Deny",
                                    "Action": ["cloudtrail:Stop*", "cloudtrail:Delete*", "config:Delete*"],
                                    "Resource": "*",
                                    "Condition": {"ArnNotLike": {"aws:PrincipalArn": f"arn:aws:iam::*:role/BreakGlass{i}"}}}]})
    for i in range(6):  # allow lists
        docs.append({"Statement": [{"Sid": f"AllowList{i}", "Effect": "Allow",
                                    "Action": [f"{s}:*" for s in rng.sample(SERVICES, 12)], "Resource": "*"}]})
    return [parse_policy(d, name=f"scp-{n}", kind="scp") for n, d in enumerate(docs)]


def build_org(rng: random.Random, accounts: int = 1000, ous: int = 50):
    full = parse_policy({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
                        name="FullAWSAccess", kind="scp")
    library = scp_library(rng)
    denies = [p for p in library if p.statements[0].effect == "Deny"]
    allows = [p for p in library if p.statements[0].effect == "Allow"]

    def level(label: str) -> Level:
        # 2 to 5 SCPs per level; one level in eight is an allow list instead of FullAWSAccess
        base = rng.choice(allows) if rng.random() < 0.125 else full
        return Level(label=label, policies=(base, *rng.sample(denies, rng.randint(1, 4))))

    root = level("Root")
    top = [[root, level(f"OU {i}")] for i in range(10)]
    chains = top + [[*top[i % 10], level(f"OU {10 + i}")] for i in range(ous - 10)]
    paths = {}
    for n in range(accounts):
        account = f"{100000000000 + n:012d}"
        paths[account] = [*chains[n % len(chains)], level(f"Account {account}")]
    return paths


def bench_matrix() -> None:
    rng = random.Random(20250919)
    paths = build_org(rng)
    actions = [f"{s}:{v}{noun}" for s in SERVICES for v in VERBS for noun in ("Thing",)]
    matrix, wall, cpu = timed(lambda: effective_permissions(paths, actions, REGIONS))
    counts = matrix.counts()
    print(f"matrix: {len(paths)} accounts under 50 OUs, {len(actions)} actions, {len(REGIONS)} regions "
          f"= {len(matrix):,} decisions in {wall:.3f} s wall ({cpu:.3f} s CPU), "
          f"{len(matrix) / wall:,.0f} decisions/s; {counts}")


if __name__ == "__main__":
    if sys.argv[1:2] == [FIRST_PASS]:
        print(json.dumps(first_pass(Path(sys.argv[2]))))
        sys.exit(0)
    sample = Path(sys.argv[1]) if len(sys.argv) > 1 else SAMPLE
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    if sample.exists():
        bench_simulate(sample)
        bench_command(sample, sum(1 for line in sample.read_text(encoding="utf-8").splitlines() if line.strip()))
    else:
        print(f"skipping simulate: {sample} not found")
    bench_matrix()
