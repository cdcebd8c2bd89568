"""``labkit policy simulate CASES.jsonl`` and ``labkit policy validate FILE --type ...``.

Introduced in ``notebooks/02-guardrails.ipynb``. ``simulate`` reads cases in the
``../shared/policy-cases/SCHEMA.md`` format (``-`` for stdin) and writes one JSON line per
case, in order: ``{"name", "decision", "blocked_by", "error"}``; a malformed case gets its
``error`` and the run goes on. ``validate`` is :func:`labkit.policy.validate.validate_command`.
"""
from __future__ import annotations

import argparse
import sys

__all__ = ["main"]

USAGE = """usage: python -m labkit.policy COMMAND [ARGS]

commands:
  simulate CASES.jsonl|-                   one JSON decision line per case
  validate FILE --type scp|rcp|identity|resource   check a policy document"""


def _simulate(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="labkit policy simulate",
                                     description="Evaluate policy cases (SCHEMA.md format), one JSON line each.")
    parser.add_argument("cases", help="a .jsonl file of cases, or - for stdin")
    parser.add_argument("--fail-on-error", action="store_true",
                        help="exit 1 if any case could not be evaluated")
    args = parser.parse_args(argv)
    try:
        errors = _run(args.cases)
    except BrokenPipeError:  # the reader went away (e.g. `| head`): stop quietly
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    if errors is None:
        return 2
    return 1 if errors and args.fail_on_error else 0


def _run(cases: str) -> int | None:
    from .simulate import simulate_stream

    if cases == "-":
        return simulate_stream(sys.stdin, sys.stdout, label="<stdin>")
    try:
        handle = open(cases, encoding="utf-8")
    except OSError as exc:
        print(f"labkit policy simulate: cannot read {cases}: {exc.strerror}", file=sys.stderr)
        return None
    with handle:
        return simulate_stream(handle, sys.stdout, label=cases)


def main(argv: list[str] | None = None) -> int:
    """Run a ``policy`` subcommand; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "simulate":
        return _simulate(rest)
    if command == "validate":
        from .validate import validate_command
        return int(validate_command(rest) or 0)
    print(f"labkit policy: unknown command {command!r}\n\n{USAGE}", file=sys.stderr)
    return 2
