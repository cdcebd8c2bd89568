"""Condition values: how IAM reads the numbers, dates and other scalars of a condition.

Introduced in ``notebooks/02-guardrails.ipynb``; used by :mod:`labkit.policy.conditions` (the
operators), :mod:`labkit.policy.parse` (policy values) and :mod:`labkit.policy.request`
(request-context values). The rules are the operators page's:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html

>>> number("0.5"), date_seconds("1970-01-02"), scalar_text(1e-05)
(0.5, 86400.0, '0.00001')
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal

__all__ = ["number", "date_seconds", "scalar_text"]


_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\Z").match


def number(text: str) -> float | None:
    """The value of an integer or decimal ("comparing a key to an integer or decimal value"),
    else None: Python's own float spellings (``1_000``, ``nan``, ``inf``, ``1e3``) are not
    numbers to IAM's Numeric operators.

    >>> number("-2.5"), number("10"), number("1_000"), number("nan")
    (-2.5, 10.0, None, None)
    """
    if type(text) is not str or _DECIMAL(text) is None:
        return None
    return float(text)


_W3C_DATE = re.compile(
    r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2})"
    r"(?:T([0-9]{2}):([0-9]{2})(?::([0-9]{2})(\.[0-9]+)?)?(Z|[+-][0-9]{2}:[0-9]{2}))?)?)?\Z").match
"""The six profiles of https://www.w3.org/TR/NOTE-datetime (YYYY, YYYY-MM, YYYY-MM-DD,
YYYY-MM-DDThh:mmTZD, YYYY-MM-DDThh:mm:ssTZD, YYYY-MM-DDThh:mm:ss.sTZD; TZD is Z or
+hh:mm or -hh:mm)."""


def date_seconds(text: str) -> float | None:
    """Seconds since the epoch from one of the W3C profiles of ISO 8601 or from epoch (UNIX)
    time, else None. The operators page: "You must specify date/time values with one of the
    W3C implementations of the ISO 8601 date formats or in epoch (UNIX) time"
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Date,
    linking https://www.w3.org/TR/NOTE-datetime). Exactly these are accepted:

    - ``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD``: the first instant of that year, month or day, UTC.
    - ``YYYY-MM-DDThh:mmTZD``, ``...Thh:mm:ssTZD``, ``...Thh:mm:ss.sTZD``: a time needs its
      zone designator (``Z``, ``+hh:mm`` or ``-hh:mm``), as every time profile of the W3C
      note writes one; a time without it is not one of the profiles and is not read as UTC.
    - epoch time: an integer or decimal number of seconds.

    A bare four-digit ``YYYY`` is both a W3C year and a number; it is read as the year (its
    first instant, UTC), since epoch seconds 1000-9999 would fall in the first three hours of
    1970. Any other number is epoch seconds: ``20240101`` is 1970-08-23T06:15:01Z, never
    2024-01-01 (the W3C profiles have no ``YYYYMMDD``). Anything else (ISO week dates
    ``2024-W01-1``, a space instead of ``T``, ``2024-01-01T00:00``, lower-case ``z``) is no
    date and so matches nothing, as an unparsable value does.

    >>> date_seconds("2024") == date_seconds("2024-01") == date_seconds("2024-01-01T00:00:00Z") == date_seconds("1704067200")
    True
    >>> date_seconds("2024-01-01T01:00+01:00") == date_seconds("2024-01-01T00:00:00.0Z"), date_seconds("2024-01-01 00:00Z")
    (True, None)
    """
    if type(text) is not str:
        return None
    found = _W3C_DATE(text)
    if found is None:
        return number(text)  # epoch (UNIX) time
    year, month, day, hour, minute, second, fraction, zone = found.groups()
    try:
        if zone is None or zone == "Z":
            tz = timezone.utc
        else:
            hours, minutes = int(zone[1:3]), int(zone[4:6])
            if hours > 23 or minutes > 59:
                return None
            offset = timedelta(hours=hours, minutes=minutes)
            tz = timezone(-offset if zone[0] == "-" else offset)
        moment = datetime(int(year), int(month or 1), int(day or 1), int(hour or 0),
                          int(minute or 0), int(second or 0), tzinfo=tz)
    except ValueError:  # month 13, day 31 of a 30-day month, hour 24, second 60
        return None
    return moment.timestamp() + (float(fraction) if fraction else 0.0)


def scalar_text(value: str | bool | int | float) -> str:
    """The condition text of a JSON scalar: ``true``/``false`` for a boolean, an integer's
    digits, a float in plain decimal notation (never an exponent, which the Numeric and Date
    operators do not read: they take "an integer or decimal value" and epoch time), a string
    unchanged. The parser writes policy values with it; the request context may too.

    >>> scalar_text(True), scalar_text(10), scalar_text(0.00001), scalar_text(1e21), scalar_text(2.5)
    ('true', '10', '0.00001', '1000000000000000000000', '2.5')
    """
    if type(value) is str:
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format(Decimal(repr(value)), "f")  # repr: the shortest digits that round-trip
    return str(value)
