"""Shared fixtures. Public reference data is read from ../shared, never copied here."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# ../shared next to the checkout; IOPKIT_SHARED points elsewhere (e.g. a CI mount).
SHARED = Path(os.environ.get("IOPKIT_SHARED") or ROOT.parent / "shared")
REFERENCE_DATA = SHARED / "reference-data"


@pytest.fixture(scope="session")
def reference_data() -> Path:
    """Folder of public validation data sets (skips the test when it is not mounted)."""
    if not REFERENCE_DATA.is_dir():
        pytest.skip(f"reference data not available at {REFERENCE_DATA}")
    return REFERENCE_DATA
