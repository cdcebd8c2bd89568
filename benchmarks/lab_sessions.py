"""Benchmark: lab sessions at 1,000 accounts, with and without account pinning.

Prints, for this machine: the time to create N accounts through the management account's
lab session, the time to open lab sessions for some of them, and the rate of calls made
through member-account sessions, once with each request pinned to its account (the
``x-moto-account-id`` header, the default) and once without (moto then finds the account
of every request by its access key, scanning every account). Not a test: it only prints.

    .venv/bin/python benchmarks/lab_sessions.py [--accounts 1000] [--sessions 20] [--calls 400]
"""
from __future__ import annotations

import argparse
import time
import warnings


def run(*, pin: bool, accounts: int, sessions: int, calls: int) -> dict[str, float]:
    from labkit.lab import Lab

    with Lab(pin_accounts=pin) as lab:
        org = lab.session("management").client("organizations")
        org.create_organization(FeatureSet="ALL")
        start = time.perf_counter()
        ids = [org.create_account(AccountName=f"account-{i:04d}",
                                  Email=f"account-{i:04d}@example.com")
               ["CreateAccountStatus"]["AccountId"] for i in range(accounts)]
        created = time.perf_counter() - start

        step = max(1, len(ids) // sessions)
        chosen = ids[::step][:sessions]
        start = time.perf_counter()
        clients = [lab.session(account).client("iam") for account in chosen]
        opened = time.perf_counter() - start

        start = time.perf_counter()
        for i in range(calls):
            clients[i % len(clients)].list_roles()
        called = time.perf_counter() - start
    return {"create": created, "sessions": opened, "calls": called}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--calls", type=int, default=400)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    run(pin=True, accounts=5, sessions=2, calls=4)  # warm imports and botocore models
    results = {}
    for pin in (True, False):
        results[pin] = run(pin=pin, accounts=args.accounts, sessions=args.sessions,
                           calls=args.calls)
    print(f"lab sessions, {args.accounts} accounts, {args.sessions} member sessions, "
          f"{args.calls} iam:ListRoles calls")
    print(f"{'':28}{'pinned':>12}{'not pinned':>14}")
    for key, label in (("create", f"create {args.accounts} accounts (s)"),
                       ("sessions", f"open {args.sessions} sessions (s)"),
                       ("calls", f"{args.calls} calls (s)")):
        print(f"{label:28}{results[True][key]:12.2f}{results[False][key]:14.2f}")
    rate = {pin: args.calls / results[pin]["calls"] for pin in results}
    print(f"{'calls per second':28}{rate[True]:12.0f}{rate[False]:14.0f}")
    print(f"pinning is {rate[True] / rate[False]:.1f}x faster per call; account creation "
          f"{results[False]['create'] / results[True]['create']:.1f}x faster")


if __name__ == "__main__":
    main()
