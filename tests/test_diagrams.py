"""The OU tree drawn: DOT content, collapsing at 1,000 accounts, freshness of diagrams/."""
from pathlib import Path

import pytest

from labkit.design import Account, OU, bundled_designs, generated_design, load_design
from labkit.diagrams import diagrams_command, org_tree, tree_dot

REPO = Path(__file__).resolve().parents[1]
SANDBOX = {
    "policy_types": ["SCP", "RCP"],
    "policies": [
        {"name": "allow-s3-only", "type": "SCP", "document": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}},
        {"name": "deny-leave", "type": "SCP", "document": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"}]}},
        {"name": "rcp-tls", "type": "RCP", "document": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}},
    ],
    "root": {"policies": ["FullAWSAccess", "deny-leave", "rcp-tls"],
             "ous": [{"name": "Sandbox", "policies": ["allow-s3-only"],
                      "accounts": [{"name": "play", "email": "play@example.com"}]}]},
}


def _nodes(dot: str) -> list[str]:
    return [line.strip() for line in dot.splitlines() if "[label=" in line and " -> " not in line]


def test_management_account_is_drawn_apart_and_marked():
    dot = tree_dot(load_design("recommended")).source
    cluster = dot.split("subgraph cluster_management {")[1].split("}")[0]
    assert '"acct/management"' in cluster and "runs no workloads" in cluster
    assert "peripheries=2" in cluster
    assert 'root -> "acct/management"' in dot and "manages" in dot


def test_every_ou_and_account_of_a_small_design_is_drawn():
    design = load_design("recommended")
    dot = tree_dot(design).source
    for path, _ in list(design.walk())[1:]:
        assert f'"ou/{path}"' in dot, path
    for account in design.accounts:
        assert f'"acct/{account.name}"' in dot, account.name


def test_policies_are_shown_compactly_and_can_be_hidden():
    design = load_design(SANDBOX)
    dot = tree_dot(design).source
    assert "SCP: allow-s3-only (no FullAWSAccess)" in dot
    assert "SCP: deny-leave" in dot and "RCP: rcp-tls" in dot
    assert "SCP: FullAWSAccess" not in dot  # the default is not repeated on every node
    hidden = tree_dot(design, show_policies=False).source
    assert "SCP:" not in hidden and "RCP:" not in hidden


def test_one_ou_of_1000_accounts_collapses():
    accounts = tuple(Account(name=f"a-{i:04d}", email=f"a{i}@example.com") for i in range(1000))
    design = load_design({"policy_types": ["SCP"], "root": {}})
    big = OU(name="Workloads", accounts=accounts)
    design = type(design)(policy_types=design.policy_types, management=design.management,
                          root=OU(name="Root", ous=(big,), policies=design.root.policies))
    dot = tree_dot(design, max_accounts=8).source
    assert "+ 992 more accounts" in dot
    assert sum('"acct/a-' in n for n in _nodes(dot)) == 8
    assert "Workloads\\nOU, 1000 accounts" in dot


def test_1000_accounts_in_50_ous_stay_readable():
    dot = tree_dot(generated_design(ous=50, accounts=1000), max_accounts=8).source
    nodes = _nodes(dot)
    assert len(nodes) == 1 + 1 + 50 + 50 * 8 + 50  # root, management, OUs, shown, summaries
    assert dot.count("+ 12 more accounts") == 50


def test_dot_is_deterministic():
    one = tree_dot(generated_design(ous=12, accounts=60)).source
    two = tree_dot(generated_design(ous=12, accounts=60)).source
    assert one == two


def test_diagrams_directory_is_fresh(capsys):
    status = diagrams_command(["--check", "--out", str(REPO / "diagrams")])
    assert status == 0, capsys.readouterr().out + "\nrun `labkit diagrams` and commit diagrams/"
    for name in bundled_designs():
        assert (REPO / "diagrams" / f"{name}.svg").exists(), name


def test_check_lists_stale_and_missing_files(tmp_path, capsys):
    (tmp_path / "recommended.dot").write_text("digraph { old }")
    (tmp_path / "retired.dot").write_text("digraph {}")
    assert diagrams_command(["--check", "--out", str(tmp_path)]) == 1
    out = capsys.readouterr().out.splitlines()
    expected = [n for d in bundled_designs() for n in (d, f"{d}-guardrails")] + ["retired"]
    assert sorted(out) == sorted(f"stale: {tmp_path / n}.dot" for n in expected)


@pytest.mark.exe
def test_diagrams_command_writes_dot_beside_svg(tmp_path):
    assert diagrams_command(["--out", str(tmp_path)]) == 0
    for name in bundled_designs():
        assert (tmp_path / f"{name}.dot").read_text() == tree_dot(load_design(name)).source
        assert "<svg" in (tmp_path / f"{name}.svg").read_text()
        guardrails = (tmp_path / f"{name}-guardrails.dot").read_text()
        assert "inherited" in guardrails or "attached" in guardrails
        assert "<svg" in (tmp_path / f"{name}-guardrails.svg").read_text()
    assert diagrams_command(["--check", "--out", str(tmp_path)]) == 0


@pytest.mark.exe
def test_org_tree_reads_a_lab_and_a_session():
    from labkit import Lab

    with Lab() as lab:
        lab.apply("flat")
        from_lab = org_tree(lab)
        from_session = org_tree(lab.session("management"))
    assert from_lab.source == from_session.source
    assert '"acct/prod-app"' in from_lab.source and "runs no workloads" in from_lab.source
    assert "<svg" in from_lab._repr_image_svg_xml()
