"""Words for one-line messages: "did you mean" for a misspelt name, counts with plurals.

Used wherever labkit refuses a name it does not know (a bundled design, a design file's key,
a policy or guardrail name), so that a typo such as ``recomended`` points at ``recommended``.
Built on :func:`difflib.get_close_matches`; teaches no AWS rule.

>>> did_you_mean("recomended", ["flat", "recommended"])
" (did you mean 'recommended'?)"
>>> did_you_mean("zzz", ["flat", "recommended"])
''
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["closest", "did_you_mean", "plural"]


def closest(word: object, choices: Iterable[str], *, cutoff: float = 0.6) -> str | None:
    """The known name closest to ``word`` (case-insensitively), or None if none is close.

    >>> closest("acounts", ["name", "accounts", "ous"])
    'accounts'
    >>> closest("SCPS", ["SCP", "RCP"])
    'SCP'
    """
    if not isinstance(word, str) or not word:
        return None
    choices = [c for c in choices if isinstance(c, str)]
    by_lower: dict[str, str] = {}
    for choice in choices:
        by_lower.setdefault(choice.lower(), choice)
    found = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=cutoff)
    return by_lower[found[0]] if found and by_lower[found[0]] != word else None


def did_you_mean(word: object, choices: Iterable[str]) -> str:
    """``" (did you mean 'X'?)"`` for the closest known name, or ``""``: append to a message."""
    match = closest(word, choices)
    return f" (did you mean {match!r}?)" if match else ""


def plural(n: int, word: str, words: str | None = None) -> str:
    """``"1 account"``, ``"2 accounts"``: a count with its noun in the right number.

    >>> plural(1, "OU"), plural(0, "policy", "policies")
    ('1 OU', '0 policies')
    """
    return f"{n} {word if n == 1 else (words or word + 's')}"
