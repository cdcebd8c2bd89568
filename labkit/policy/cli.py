"""``labkit policy simulate CASES.jsonl ...`` and ``labkit policy validate FILE --type ...``.

Introduced in ``notebooks/02-guardrails.ipynb``. ``simulate`` reads cases in the
``docs/policy-case-format.md`` format (``-`` for stdin; several files in turn) and
writes one JSON line per case, in order: ``{"name", "decision", "blocked_by", "error"}``; a
malformed case gets its ``error`` and the run goes on. It exits 1 when no case at all could
be evaluated (or, with ``--fail-on-error``, when any could not). ``--check`` compares each
decision with the case's ``expected`` instead, prints each mismatch and error with its file
and line, then a summary, and exits 1 on any mismatch or error. ``validate`` is
:func:`labkit.policy.validate.validate_command`. ``python -m labkit.policy`` is the same
command.
"""
from __future__ import annotations

import argparse
import sys

__all__ = ["USAGE", "main"]

USAGE = """usage: labkit policy COMMAND [ARGS]   (or: python -m labkit.policy COMMAND [ARGS])

commands:
  simulate CASES.jsonl|- ... [--check] [--fail-on-error]
      evaluate policy cases (docs/policy-case-format.md): one JSON decision line per case
  validate FILE ... [--type scp|rcp|identity|resource|trust] [--syntax ...] [--quotas ...]
      check policy documents as AWS would

labkit policy COMMAND --help shows a command's arguments."""


def _simulate(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="labkit policy simulate",
                                     description="Evaluate policy cases (format: docs/policy-case-format.md), one JSON line each.")
    parser.add_argument("cases", nargs="+", metavar="CASES",
                        help="a .jsonl file of cases, or - for stdin; several are read in turn")
    parser.add_argument("--fail-on-error", action="store_true",
                        help="exit 1 if any case could not be evaluated")
    parser.add_argument("--check", action="store_true",
                        help="compare each decision with the case's expected result; print "
                             "mismatches and errors, exit 1 on any")
    args = parser.parse_args(argv)
    tally = {"cases": 0, "errors": 0, "mismatches": 0, "unchecked": 0, "unreadable": 0}
    for name in args.cases:
        _run(name, tally, check=args.check)
    if args.check:
        _summary(tally, len(args.cases))
    if tally["unreadable"]:
        return 2
    if args.check:
        return 1 if tally["errors"] or tally["mismatches"] else 0
    if tally["errors"] and tally["errors"] == tally["cases"]:
        from labkit.suggest import plural

        print(f"labkit policy simulate: none of the {plural(tally['cases'], 'case')} could be "
              "evaluated", file=sys.stderr)
        return 1
    return 1 if tally["errors"] and args.fail_on_error else 0


def _run(name: str, tally: dict, *, check: bool) -> None:
    if name == "-":
        _cases(sys.stdin, "<stdin>", tally, check)
        return
    try:
        handle = open(name, encoding="utf-8")
    except OSError as exc:
        print(f"labkit policy simulate: cannot read {name}: {exc.strerror}", file=sys.stderr)
        tally["unreadable"] += 1
        return
    with handle:
        try:
            _cases(handle, name, tally, check)
        except UnicodeDecodeError as exc:
            print(f"labkit policy simulate: {name}: not UTF-8 text ({exc.reason})", file=sys.stderr)
            tally["unreadable"] += 1


def _cases(lines, label: str, tally: dict, check: bool) -> None:
    import json

    from .simulate import simulate_cases

    out = sys.stdout
    for row, expected, where in simulate_cases(lines, source=label):
        tally["cases"] += 1
        tally["errors"] += row["error"] is not None
        if not check:
            out.write(json.dumps(row) + "\n")
        elif row["error"] is not None:
            out.write(f"error: {row['error']}\n")
        elif expected is None:
            tally["unchecked"] += 1
        elif row["decision"] != expected:
            tally["mismatches"] += 1
            blocked = f" (blocked by {', '.join(row['blocked_by'])})" if row["blocked_by"] else ""
            out.write(f"mismatch: {where}: {row['name']}: expected {expected}, "
                      f"got {row['decision']}{blocked}\n")


def _summary(tally: dict, files: int) -> None:
    from labkit.suggest import plural

    ok = tally["cases"] - tally["errors"] - tally["mismatches"] - tally["unchecked"]
    print(f"checked {plural(tally['cases'], 'case')} in {plural(files, 'file')}: "
          f"{ok} as expected, {plural(tally['mismatches'], 'mismatch', 'mismatches')}, "
          f"{plural(tally['errors'], 'error')}, {tally['unchecked']} without expected")


def main(argv: list[str] | None = None) -> int:
    """Run a ``policy`` subcommand; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0
    if not argv:
        print(f"labkit policy: no command given\n\n{USAGE}", file=sys.stderr)
        return 2
    command, rest = argv[0], argv[1:]
    try:
        if command == "simulate":
            return _simulate(rest)
        if command == "validate":
            from .validate import validate_command
            return int(validate_command(rest) or 0)
    except BrokenPipeError:  # the reader went away (e.g. `| head`): stop quietly
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    from labkit.suggest import did_you_mean

    print(f"labkit policy: unknown command {command!r}{did_you_mean(command, ('simulate', 'validate'))}"
          f"\n\n{USAGE}", file=sys.stderr)
    return 2
