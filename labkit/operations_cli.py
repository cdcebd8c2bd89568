"""``labkit operations``: how much of each boto3 service the operation map covers.

The map and its interpreter are :mod:`labkit.operations` (``notebooks/02-guardrails.ipynb``);
this is its command-line view, so the gaps in enforcement are visible.
"""
from __future__ import annotations

from labkit.operations import mapped_operations, operation_map, unmapped_operations

__all__ = ["operations_command"]


def operations_command(argv: list[str]) -> int:
    """``labkit operations [SERVICE ...] [--list]``: how much of each service the map covers.

    Prints, per boto3 service, how many operations are mapped to exact IAM requests and how
    many fall back to ``service:Operation`` on ``*``; ``--list`` names the unmapped ones, so
    the gaps in enforcement are visible.
    """
    import argparse

    parser = argparse.ArgumentParser(prog="labkit operations", description=operations_command.__doc__)
    parser.add_argument("services", nargs="*", help="boto3 service names (default: every mapped service)")
    parser.add_argument("--list", action="store_true", help="name every unmapped operation")
    args = parser.parse_args(argv)
    import botocore.exceptions

    for service in args.services or sorted(operation_map()):
        try:
            gaps = unmapped_operations(service)[service]
        except botocore.exceptions.UnknownServiceError:
            print(f"labkit operations: unknown boto3 service {service!r}")
            return 2
        mapped = len(mapped_operations(service)[service])
        print(f"{service:<16} {mapped:>4} mapped  {len(gaps):>4} authorized as service:Operation on *")
        if args.list:
            for op in gaps:
                print(f"    {op}")
    return 0
