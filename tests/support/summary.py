"""Lines a test wants shown in pytest's terminal summary (see tests/integration/conftest.py)."""

from __future__ import annotations

import pytest

SUMMARY_KEY = pytest.StashKey[list[str]]()
