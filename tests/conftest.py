"""Markers shared by the tests that check the README's promises.

``jupyter_server``: starts a real JupyterLab server on loopback (tests/test_jupyterlab.py).
``offline``: THE test of "no network": every notebook run in a kernel that refuses and
records any connection off the machine (tests/test_offline_notebooks.py).
"""
from __future__ import annotations


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "jupyter_server: starts a real JupyterLab server on 127.0.0.1 (about 5 s)")
    config.addinivalue_line(
        "markers", "offline: runs every notebook in a kernel that refuses and records "
        "connections off the machine (the no-network test)")
