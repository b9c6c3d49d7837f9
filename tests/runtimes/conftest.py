"""Fixtures of the runtime tests: the cirl binary, the real runtimes from npm, and every shipped scenario's card."""

import json
import os
import pathlib
import subprocess
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))
CIRL = pathlib.Path(os.environ.get("CIRL_BIN", ROOT / "target" / "release" / "cirl"))
SCENARIOS = sorted(p.stem for p in (ROOT / "experiments" / "scenarios").glob("*.toml"))


def need(path, what):
    if not pathlib.Path(path).exists():
        pytest.fail(f"{what} is missing at {path}: run `npm ci` in tests/runtimes (scripts/test.sh does)")


@pytest.fixture(scope="session")
def cirl_bin():
    need(CIRL, "the cirl binary (cargo build --release)")
    return CIRL


@pytest.fixture(scope="session")
def cards(tmp_path_factory, cirl_bin):
    """Each shipped scenario's card and exports, written by `cirl calibrate`."""
    out = {}
    base = tmp_path_factory.mktemp("cards")
    for name in SCENARIOS:
        d = base / name
        subprocess.run([str(cirl_bin), "calibrate", str(ROOT / "experiments" / "scenarios" / f"{name}.toml"),
                        "--out", str(d), "--mc", "0", "--no-plots"], check=True, capture_output=True, text=True)
        out[name] = (d, json.loads((d / "card.json").read_text()))
    return out
