"""The ``labkit`` command.

Each subcommand lives beside the concept it serves and takes its own arguments::

    labkit validate DESIGN            check an organization design (labkit.design)
    labkit diagrams [--check]         render bundled designs into diagrams/ (labkit.diagrams)
    labkit policy validate|simulate   check policy documents, simulate cases (labkit.policy)
    labkit operations [SERVICE] [--list]  the operation-to-IAM-action map and its gaps
    labkit student [--out DIR]        student notebooks for a workshop (labkit.student)
"""
from __future__ import annotations

import importlib
import sys

# subcommand -> (module, function taking argv and returning an exit code, one-line help)
COMMANDS = {
    "validate": ("labkit.design", "validate_command", "check an organization design file"),
    "diagrams": ("labkit.diagrams", "diagrams_command", "render every bundled design into diagrams/"),
    "policy": ("labkit.policy.cli", "main", "validate policy documents or simulate cases"),
    "operations": ("labkit.operations", "operations_command",
                   "show which boto3 operations map to exact IAM requests, and the gaps"),
    "student": ("labkit.student", "student_command",
                "write student notebooks: solutions blanked, outputs stripped"),
}


def usage() -> str:
    lines = ["usage: labkit COMMAND [ARGS]", "", "commands:"]
    lines += [f"  {name:<10} {help_}" for name, (_, _, help_) in COMMANDS.items()]
    lines += ["", "labkit COMMAND --help shows a command's arguments."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"labkit: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module, func, _ = COMMANDS[name]
    return int(getattr(importlib.import_module(module), func)(rest) or 0)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
