"""The exercise checks say what is wrong on a wrong organization and pass on the right one.

Each case in ``tests/cases/exercises/*.jsonl`` builds an organization in a fresh lab with real
boto3 calls, runs one check, and lists the problems it must report (substrings, compared
case-insensitively). Every expected problem must be reported, and every reported problem
must be expected: an empty list means the check passes.
"""
from __future__ import annotations


import pytest

from labkit import Lab, exercises
from labkit.exercises import Check
from casefiles import case_params

CASES = case_params("exercises")


def _build(lab, case):
    """Create the case's organization, OUs (by path, parents first) and accounts."""
    if case["organization"] is None:
        return
    org = lab.session("management").client("organizations")
    org.create_organization(FeatureSet=case["organization"])
    ids = {"Root": org.list_roots()["Roots"][0]["Id"]}
    for path in case.get("ous", []):
        parent, _, name = path.rpartition("/")
        ou = org.create_organizational_unit(ParentId=ids[parent or "Root"], Name=name)
        ids[path] = ou["OrganizationalUnit"]["Id"]
    for name, where in case.get("accounts", {}).items():
        status = org.create_account(AccountName=name, Email=f"{name}@example.com")["CreateAccountStatus"]
        status = org.describe_create_account_status(CreateAccountRequestId=status["Id"])
        account_id = status["CreateAccountStatus"]["AccountId"]
        if where != "Root":
            org.move_account(AccountId=account_id, SourceParentId=ids["Root"], DestinationParentId=ids[where])


def test_cases_cover_every_check():
    checks = {name for name in exercises.__all__ if name.startswith("check_")}
    covered = {case.values[0]["check"] for case in CASES}
    assert checks == covered, f"checks without cases: {sorted(checks - covered)}"
    for check in checks:
        kinds = {not case.values[0]["problems"] for case in CASES if case.values[0]["check"] == check}
        assert kinds == {True, False}, f"{check} needs a passing and a failing case"


@pytest.mark.parametrize("case", CASES)
def test_check_reports_what_is_wrong(case):
    with Lab() as lab:
        _build(lab, case)
        result = getattr(exercises, case["check"])(lab)
    assert isinstance(result, Check)
    expected = [text.casefold() for text in case["problems"]]
    reported = [problem.casefold() for problem in result.problems]
    missing = [text for text in expected if not any(text in problem for problem in reported)]
    unexpected = [problem for problem in reported if not any(text in problem for text in expected)]
    assert not missing and not unexpected, (
        f"{case['case']}: missing {missing}, unexpected {unexpected}; got:\n{result}"
    )
    assert result.passed is (not expected)


def check_passes(check: Check) -> bool:
    return check.passed and str(check).endswith("passed")


def test_a_check_accepts_a_boto3_session_as_well_as_a_lab():
    with Lab() as lab:
        session = lab.session("management")
        session.client("organizations").create_organization(FeatureSet="ALL")
        assert check_passes(exercises.check_organization(session))
        assert check_passes(exercises.check_organization(lab))


def test_a_check_refuses_something_that_is_not_a_lab_or_session():
    with pytest.raises(TypeError, match="expected a labkit Lab or a boto3 Session, got str"):
        exercises.check_organization("management")


def test_a_failed_check_displays_its_problems_and_source():
    check = Check(exercise="Sandbox OU", problems=("No OU named 'Sandbox' <here>",), source="https://aws/x")
    html = check._repr_html_()
    assert "Sandbox OU" in html and "1 thing(s) to fix" in html
    assert "No OU named &#x27;Sandbox&#x27; &lt;here&gt;" in html  # escaped, not raw markup
    assert 'href="https://aws/x"' in html
    assert str(check) == "Sandbox OU: 1 problem\n  - No OU named 'Sandbox' <here>"


def test_a_passed_check_says_so():
    check = Check(exercise="Suspended OU", problems=(), source="")
    assert check.passed
    assert "passed" in check._repr_html_() and str(check) == "Suspended OU: passed"


def test_every_check_cites_an_aws_page():
    with Lab() as lab:
        for name in exercises.__all__:
            if name.startswith("check_"):
                source = getattr(exercises, name)(lab).source
                assert source.startswith("https://docs.aws.amazon.com/"), (name, source)
