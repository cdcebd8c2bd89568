"""``python -m labkit.policy simulate CASES.jsonl`` (see :mod:`labkit.policy.cli`)."""
from labkit.policy.cli import main

if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
