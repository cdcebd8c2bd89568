"""Find a graphviz renderer, so diagrams draw on a machine with no system graphviz.

The ``graphviz`` Python package shells out to a ``dot`` executable. The lab prefers the
system's ``dot`` (Debian ``graphviz``, conda-forge ``graphviz``); failing that it uses
``graphviz-pure``, a port of Graphviz 16.1.0 installed from PyPI by ``scripts/setup``,
whose executable has another name. Nothing happens at import time: diagram helpers call
:func:`ensure_renderer` before they return a graph.

``python -m labkit.render --check`` renders a two-node graph and says which renderer drew it.
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

__all__ = ["ensure_renderer", "renderer"]

_chosen: str | None = None


def _candidates() -> list[str]:
    found = []
    dot = shutil.which("dot")
    if dot:
        found.append(dot)
    here = Path(sys.executable).parent
    for name in ("dot", "graphviz-pure"):
        p = here / name
        if p.exists():
            found.append(str(p))
    pure = shutil.which("graphviz-pure")
    if pure:
        found.append(pure)
    return found


def renderer() -> str | None:
    """Return the path of the executable that will draw diagrams, or None if there is none."""
    global _chosen
    if _chosen is None:
        cands = _candidates()
        _chosen = cands[0] if cands else None
    return _chosen


def ensure_renderer() -> str:
    """Point the ``graphviz`` package at a working renderer and return its path.

    Raises ``RuntimeError`` with the fix when no renderer is installed.
    """
    import graphviz.backend.dot_command as dot_command

    exe = renderer()
    if exe is None:
        raise RuntimeError(
            "No graphviz renderer found: install one with ./scripts/setup (it installs "
            "graphviz-pure into .venv), or your system's graphviz package, or use "
            "environment.yml with conda."
        )
    if os.path.basename(exe) != "dot" or shutil.which("dot") != exe:
        dot_command.DOT_BINARY = Path(exe)
    return exe


def _check() -> int:
    import graphviz

    exe = ensure_renderer()
    svg = graphviz.Digraph(body=["a -> b"]).pipe(format="svg").decode()
    if "<svg" not in svg:
        print(f"render: {exe} did not produce SVG", file=sys.stderr)
        return 1
    print(f"render: diagrams are drawn by {exe}")
    return 0


if __name__ == "__main__":  # pragma: no cover - exercised by scripts/setup
    if "--check" in sys.argv[1:]:
        raise SystemExit(_check())
    print(renderer() or "no renderer")
