"""``simulate`` raises the collector's young-generation threshold only while it runs
(see :func:`labkit.policy.simulate.simulate_cases`), and puts the old thresholds back when it
finishes or is closed early."""
from __future__ import annotations

import gc
import json

from labkit.policy.simulate import _GC_THRESHOLD, simulate_lines

LINE = json.dumps({"name": "c", "request": {"principal": "arn:aws:iam::111111111111:user/a",
                                            "action": "s3:ListAllMyBuckets"}, "identity_policies": []})


def test_thresholds_are_raised_while_simulating_and_restored_after():
    before = gc.get_threshold()
    during = []
    for _row in simulate_lines([LINE, LINE]):
        during.append(gc.get_threshold()[0])
    assert during == [max(before[0], _GC_THRESHOLD)] * 2 and gc.get_threshold() == before


def test_thresholds_are_restored_when_simulation_stops_early():
    before = gc.get_threshold()
    rows = simulate_lines([LINE, LINE, LINE])
    next(rows)
    rows.close()
    assert gc.get_threshold() == before
