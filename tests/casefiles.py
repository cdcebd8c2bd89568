"""The one reader of the JSON Lines case files under ``tests/cases/`` (STYLE.md: one
parametrised runner over ``tests/cases/**/*.jsonl``).

Each non-blank line of a ``.jsonl`` file is one case, a JSON object. ``case_params`` turns the
cases into ``pytest.param``s whose ids say where each case is, ``file:line:name`` (the file's
stem, the 1-based line number, the case's name), so a failing id leads straight to its line.
``cases_in`` gives the same cases as plain dicts, for tests that check the table as a whole.

A line that is not a JSON object stops collection with a ``CaseFileError`` naming the file and
the line; blank lines are skipped. (No case file uses comment lines, so none are allowed.)

``where`` is a file or folder path, a path or glob relative to ``tests/cases/``
(``"conditions"``, ``"engine/rules*.jsonl"``), or a list of these; a folder means every
``*.jsonl`` file in it. Files are read in sorted order within each entry.

Tests import this module as ``from casefiles import case_params``: ``tests/`` is not a
package, and pytest's default (prepend) import mode puts it on ``sys.path``.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

__all__ = ["CASES_ROOT", "CaseFileError", "CaseLine", "case_lines", "case_params", "cases_in"]

#: The folder that relative ``where`` arguments are read from.
CASES_ROOT = Path(__file__).parent / "cases"

Where = str | Path | Iterable[str | Path]


class CaseFileError(ValueError):
    """A case file that cannot be read: says which file and which line."""


@dataclass(frozen=True, kw_only=True)
class CaseLine:
    """One case as read: its file, its 1-based line number, its text and the decoded object."""

    path: Path
    number: int
    text: str
    case: dict


def _default_name(case: dict) -> str:
    name = case.get("name", case.get("case", ""))
    return str(name)


def _files(where: Where) -> list[Path]:
    entries = [where] if isinstance(where, (str, Path)) else list(where)
    files: list[Path] = []
    for entry in entries:
        path = Path(entry)
        if not path.is_absolute():
            path = CASES_ROOT / path
        if path.is_dir():
            found = sorted(path.glob("*.jsonl"))
        elif path.is_file():
            found = [path]
        else:
            found = sorted(path.parent.glob(path.name))
        if not found:
            raise CaseFileError(f"{entry}: no case files there (looked for {path})")
        files.extend(found)
    return files


def _where(path: Path) -> str:
    try:
        return str(path.relative_to(CASES_ROOT.parent.parent))
    except ValueError:
        return str(path)


def case_lines(where: Where) -> list[CaseLine]:
    """Every case in ``where``, in file then line order; malformed lines raise ``CaseFileError``."""
    lines: list[CaseLine] = []
    for path in _files(where):
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not text.strip():
                continue
            try:
                case = json.loads(text)
            except json.JSONDecodeError as error:
                raise CaseFileError(f"{_where(path)}:{number}: not valid JSON: {error.msg} "
                                    f"(column {error.colno})") from None
            if not isinstance(case, dict):
                raise CaseFileError(f"{_where(path)}:{number}: a case must be a JSON object, "
                                    f"not {type(case).__name__}")
            lines.append(CaseLine(path=path, number=number, text=text, case=case))
    return lines


def cases_in(where: Where, *, keep: Callable[[dict], bool] | None = None) -> list[dict]:
    """The cases in ``where`` as dicts (those ``keep`` accepts, if given)."""
    return [line.case for line in case_lines(where) if keep is None or keep(line.case)]


def case_params(where: Where, *, name: Callable[[dict], object] = _default_name,
                keep: Callable[[dict], bool] | None = None, text: bool = False) -> list:
    """The cases in ``where`` as ``pytest.param``s with ids ``file:line:name``.

    ``name`` picks the last part of the id (default: the case's ``name``, else its ``case``);
    ``keep`` selects cases; ``text=True`` passes each case's raw line instead of its dict.
    """
    params = []
    for line in case_lines(where):
        if keep is not None and not keep(line.case):
            continue
        label = f"{line.path.stem}:{line.number}:{name(line.case)}"
        params.append(pytest.param(line.text if text else line.case, id=label))
    return params
