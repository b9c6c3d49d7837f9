"""Shared fixtures: the command-line binary the package's numbers are compared with."""

import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
CIRL = pathlib.Path(os.environ.get("CIRL_BIN", ROOT / "target" / "release" / "cirl"))


@pytest.fixture(scope="session")
def cli():
    """Runs `cirl ARGS...` and returns its stdout (fails the test on a non-zero exit)."""
    if not CIRL.is_file():
        pytest.fail(f"the cirl binary is missing at {CIRL}: cargo build --release (or set CIRL_BIN)")

    def run(*args: str, stdin: str | None = None) -> str:
        return subprocess.run([str(CIRL), *args], check=True, capture_output=True, text=True, input=stdin).stdout

    return run


@pytest.fixture(scope="session")
def root() -> pathlib.Path:
    return ROOT
