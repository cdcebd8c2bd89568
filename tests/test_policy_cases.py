"""The engine against the shared policy cases (SCHEMA.md) and its own rule cases.

- ../shared/policy-cases/handwritten.jsonl: every case must give its expected decision;
- ../shared/policy-cases/sample.jsonl: at least 99.5% (misses are listed);
- tests/cases/engine/rules*.jsonl: one case per service rule, each citing its AWS page.
"""
import io
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from labkit.policy import Level, PolicySet, Request, evaluate, parse_policy
from labkit.policy.cases import CaseError, case_from_dict, case_from_line, load_cases
from labkit.policy.cli import main
from labkit.policy.matrix import effective_permissions
from labkit.policy.simulate import simulate_lines
from casefiles import case_params

SHARED = Path(__file__).parents[2] / "shared" / "policy-cases"
ENGINE = Path(__file__).parent / "cases" / "engine"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"shared policy cases not found at {SHARED}")


def lines_of(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def shared_params(name: str):
    if not SHARED.is_dir():
        return [pytest.param(None, marks=needs_shared, id="absent")]
    return case_params(SHARED / name, text=True)


@needs_shared
@pytest.mark.parametrize("line", shared_params("handwritten.jsonl"))
def test_handwritten_case(line):
    case = case_from_line(line)
    decision = evaluate(case.request, case.policies)
    assert decision.result == case.expected, str(decision)


@needs_shared
def test_sample_cases_at_least_99_5_percent():
    lines = lines_of(SHARED / "sample.jsonl")
    expected = {json.loads(line)["name"]: json.loads(line)["expected"] for line in lines}
    rows = list(simulate_lines(lines))
    misses = [f"{r['name']}: got {r['decision']} ({r['error']}), expected {expected[r['name']]}"
              for r in rows if r["decision"] != expected[r["name"]]]
    assert len(rows) == len(lines)
    assert 1 - len(misses) / len(rows) >= 0.995, "\n".join(misses)


@pytest.mark.parametrize("line", case_params(ENGINE / "rules*.jsonl", text=True))
def test_engine_rule_case(line):
    raw = json.loads(line)
    assert raw["source"].startswith("https://docs.aws.amazon.com/")
    case = case_from_dict(raw)
    decision = evaluate(case.request, case.policies)
    assert decision.result == raw["expected"], str(decision)
    # the fast line loader and the dict loader agree
    assert evaluate(case_from_line(line).request, case_from_line(line).policies).result == decision.result


def test_line_loader_falls_back_on_unusual_layout():
    raw = {"name": "spaced", "request": {"principal": "arn:aws:iam::111111111111:user/a", "action": "s3:ListAllMyBuckets"},
           "identity_policies": [{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*",
                                                 "Condition": {"StringEquals": {"scps": "x"}}}]}],
           "extra": 1, "scps": [[{"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}]]}
    for text in (json.dumps(raw), json.dumps(raw, indent=None, separators=(" , ", " : "))):
        case = case_from_line(text)
        assert len(case.policies.scps) == 1 and len(case.policies.identity) == 1


@pytest.mark.parametrize("raw,message", [
    ({"name": "n"}, "request must be an object"),
    ({"name": "n", "request": {"principal": "arn:aws:iam::1:user/a"}}, "request.action must be a string"),
    ({"name": "n", "request": {"principal": "arn:aws:iam::1:user/a", "action": "s3:X"}, "scps": [{}]},
     "scps must be null or a list of levels"),
    ({"name": "n", "request": {"principal": "arn:aws:iam::1:user/a", "action": "s3:X"},
      "identity_policies": [{"Statement": [{"Effect": "Allow", "Resource": "*"}]}]},
     "identity policy 1', statement 1: needs Action or NotAction"),
    ({"name": "n", "request": {"principal": "arn:aws:iam::1:user/a", "action": "s3:X"}, "expected": "Maybe"},
     "expected must be one of"),
])
def test_malformed_case_names_the_problem(raw, message):
    with pytest.raises(CaseError, match="case 'n'") as error:
        case_from_line(json.dumps(raw))
    assert message in str(error.value)


def test_simulate_cli_keeps_going_after_a_bad_case(tmp_path, capsys):
    good = json.dumps({"name": "good", "request": {"principal": "arn:aws:iam::111111111111:user/a",
                                                   "action": "s3:ListAllMyBuckets"}, "identity_policies": []})
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join([good, "{broken", '{"name": "no-request"}', good]) + "\n")
    assert main(["simulate", str(path)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["name"] for r in rows] == ["good", None, "no-request", "good"]
    assert rows[0] == {"name": "good", "decision": "ImplicitlyDenied", "blocked_by": ["identity"], "error": None}
    assert "line 2" in rows[1]["error"] and "invalid JSON" in rows[1]["error"]
    assert "request must be an object" in rows[2]["error"] and rows[2]["decision"] is None
    assert main(["simulate", "--fail-on-error", str(path)]) == 1


def test_simulate_reads_stdin_as_a_module():
    case = json.dumps({"name": "stdin", "request": {"principal": "arn:aws:iam::111111111111:root",
                                                    "action": "s3:ListAllMyBuckets"}})
    out = subprocess.run([sys.executable, "-m", "labkit.policy", "simulate", "-"], input=case + "\n",
                         capture_output=True, text=True, check=True, cwd=Path(__file__).parents[1])
    assert json.loads(out.stdout) == {"name": "stdin", "decision": "Allowed", "blocked_by": [], "error": None}


def test_simulate_missing_file_is_a_clear_error(tmp_path, capsys):
    assert main(["simulate", str(tmp_path / "nope.jsonl")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_cli_usage_and_unknown_command(capsys):
    assert main([]) == 2
    assert main(["frobnicate"]) == 2
    assert "unknown command 'frobnicate'" in capsys.readouterr().err


def test_validate_subcommand_delegates_to_the_validator(tmp_path, capsys):
    path = tmp_path / "bad.json"
    path.write_text('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", '
                    '"Action": "s3:GetObject", "Resource": "*"}]}')
    assert main(["validate", str(path), "--type", "scp"]) != 0


def test_load_cases_reads_a_file():
    cases = load_cases(ENGINE / "rules.jsonl")
    assert cases and all(c.expected for c in cases)


def _random_org(rng: random.Random):
    full = parse_policy({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}, name="FullAWSAccess", kind="scp")
    library = [
        parse_policy({"Statement": [{"Effect": "Deny", "Action": ["s3:Delete*", "ec2:Terminate*"], "Resource": "*"}]},
                     name="deny-destroy", kind="scp"),
        parse_policy({"Statement": [{"Sid": "Regions", "Effect": "Deny", "NotAction": ["iam:*", "sts:*"], "Resource": "*",
                                     "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1"]}}}]},
                     name="deny-regions", kind="scp"),
        parse_policy({"Statement": [{"Effect": "Deny", "Action": "cloudtrail:Stop*", "Resource": "*",
                                     "Condition": {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::111111111111:role/*"}}}]},
                     name="protect-trail", kind="scp"),
        parse_policy({"Statement": [{"Effect": "Allow", "Action": ["s3:*", "iam:*", "cloudtrail:*"], "Resource": "*"}]},
                     name="allow-some", kind="scp"),
    ]
    denies, allow_some = library[:3], library[3]

    def level(label):
        base = rng.choice([full, full, allow_some])
        return Level(label=label, policies=(base, *rng.sample(denies, rng.randint(0, 2))))
    root = level("Root")
    ous = [level(f"OU {i}") for i in range(3)]
    return {f"{111111111111 + n:012d}": [root, ous[n % 3], level(f"Account {n}")] for n in range(6)}


def test_matrix_agrees_with_evaluate():
    rng = random.Random(7)
    paths = _random_org(rng)
    actions = ["s3:GetObject", "s3:DeleteBucket", "ec2:TerminateInstances", "iam:ListRoles", "cloudtrail:StopLogging"]
    regions = ["us-east-1", "eu-west-1"]
    matrix = effective_permissions(paths, actions, regions)
    allow_all = parse_policy({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}, name="admin")
    seen = set()
    for account, path in paths.items():
        for action in actions:
            for region in regions:
                request = Request(principal=f"arn:aws:iam::{account}:role/Developer", action=action,
                                  context={"aws:RequestedRegion": region})
                decision = evaluate(request, PolicySet(identity=[allow_all], scps=path))
                cell = matrix.cell(account, action, region)
                assert cell.result == decision.result, (account, action, region, str(decision))
                if cell.result == "ExplicitlyDenied":
                    assert cell.level == next(o.label for o in decision.scp_levels if o.status == "denies")
                if cell.result == "ImplicitlyDenied":
                    assert cell.level == next(o.label for o in decision.scp_levels if o.status == "no-allow")
                seen.add(cell.result)
    assert seen == {"Allowed", "ExplicitlyDenied", "ImplicitlyDenied"}
    assert sum(matrix.counts().values()) == len(matrix) == 6 * 5 * 2


def test_matrix_management_account_is_unrestricted():
    matrix = effective_permissions({"999999999999": None}, ["s3:GetObject"], ["us-east-1"])
    assert matrix.cell("999999999999", "s3:GetObject", "us-east-1").result == "Allowed"
