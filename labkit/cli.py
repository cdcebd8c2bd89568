"""The ``labkit`` command.

Each subcommand lives beside the concept it serves and takes its own arguments::

    labkit validate DESIGN                 check an organization design (labkit.design)
    labkit diagrams [DESIGN ...] [--check] draw designs into diagrams/ (labkit.diagrams)
    labkit policy validate|simulate        check policy documents, simulate cases (labkit.policy)
    labkit operations [SERVICE] [--list]   the operation-to-IAM-action map and its gaps
    labkit student [--out DIR]             student notebooks for a workshop (labkit.student)

Output piped into a reader that stops early (``labkit operations --list | head``) ends the
command quietly, for every subcommand, as Python's documentation advises
(https://docs.python.org/3/library/signal.html#note-on-sigpipe).
"""
from __future__ import annotations

import importlib
import os
import sys

__all__ = ["COMMANDS", "main", "usage"]

# subcommand -> (module, function taking argv and returning an exit code, one-line help)
COMMANDS = {
    "validate": ("labkit.design", "validate_command", "check an organization design file"),
    "diagrams": ("labkit.diagrams", "diagrams_command",
                 "draw designs (the bundled ones, or yours) into diagrams/"),
    "policy": ("labkit.policy.cli", "main", "validate policy documents or simulate cases"),
    "operations": ("labkit.operations_cli", "operations_command",
                   "show which boto3 operations map to exact IAM requests, and the gaps"),
    "student": ("labkit.student", "student_command",
                "write student notebooks: solutions blanked, outputs stripped"),
}

#: Exit code of a command stopped by a closed pipe (128 + SIGPIPE), as a shell reports it.
BROKEN_PIPE = 141


def usage() -> str:
    """The help text: every command with its one-line description, in aligned columns."""
    width = max(len(name) for name in COMMANDS) + 2
    lines = ["usage: labkit COMMAND [ARGS]", "", "commands:"]
    lines += [f"  {name:<{width}}{help_}" for name, (_, _, help_) in COMMANDS.items()]
    lines += ["", "labkit COMMAND --help shows a command's arguments, e.g. labkit validate --help.",
              "Start with: labkit validate recommended"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run ``labkit COMMAND ...``; return its exit code (2 for a missing or unknown command)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in ("-h", "--help"):
            print(usage())
            return 0
        if not argv:
            print(f"labkit: no command given\n\n{usage()}", file=sys.stderr)
            return 2
        name, rest = argv[0], argv[1:]
        if name not in COMMANDS:
            from labkit.suggest import did_you_mean

            print(f"labkit: unknown command {name!r}{did_you_mean(name, COMMANDS)}\n\n{usage()}",
                  file=sys.stderr)
            return 2
        module, func, _ = COMMANDS[name]
        code = int(getattr(importlib.import_module(module), func)(rest) or 0)
        sys.stdout.flush()  # a closed pipe shows here, inside the handler
        return code
    except BrokenPipeError:
        # The reader went away: send what is left of stdout nowhere, so the interpreter's
        # own flush at exit cannot raise again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return BROKEN_PIPE


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
