"""How the engine's frozen values are built fast and computed once.

The engine's values (``Statement``, ``Policy``, ``Request``, ``Decision`` ...) are frozen,
keyword-only dataclasses; a first pass over a case file builds thousands of them, so the
parser, the case reader and the evaluator build them with :func:`built` (the same value,
without a frozen dataclass's ``object.__setattr__`` per field) from fields they have
checked, and derived attributes are computed on first use with :class:`once`.

>>> from dataclasses import dataclass
>>> @dataclass(frozen=True, kw_only=True)
... class Pair:
...     left: int
...     right: int
...     @once
...     def total(self) -> int:
...         return self.left + self.right
>>> pair = built(Pair, {"left": 1, "right": 2})
>>> pair == Pair(left=1, right=2), pair.total
(True, 3)
"""
from __future__ import annotations

from typing import Any, Callable

__all__ = ["built", "once"]


def built(cls: type, fields: dict) -> Any:
    """An instance of the frozen dataclass ``cls`` holding ``fields`` (every field, already
    checked): the same value as ``cls(**fields)``, without a setattr per field."""
    self = object.__new__(cls)
    object.__setattr__(self, "__dict__", fields)
    return self


class once:  # noqa: N801 (used as a decorator, like cached_property)
    """``functools.cached_property`` without its per-instance lock (Python 3.10/3.11 take
    one on every first computation): the value is stored in the instance's ``__dict__``,
    which later lookups find first. The engine's values are built once and then only read."""

    def __init__(self, func: Callable) -> None:
        self.func = func
        self.name = func.__name__
        self.__doc__ = func.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        value = instance.__dict__[self.name] = self.func(instance)
        return value
