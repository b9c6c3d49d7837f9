#!/usr/bin/env bash
# The whole test suite: Rust tests (unit, property, CLI, doc) and the notebooks, executed headless.
# Needs Rust and python3; creates a virtualenv in .venv (or $CIRL_VENV) for the notebooks' pinned packages.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --release

VENV=${CIRL_VENV:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
    if ! python3 -m venv "$VENV" >/dev/null 2>&1; then
        # Debian ships venv support separately (python3-venv).
        rm -rf "$VENV"
        if [ "$(id -u)" = 0 ]; then
            apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
        elif command -v sudo >/dev/null; then
            sudo apt-get update -qq && sudo apt-get install -y -qq python3-venv >/dev/null
        else
            echo "error: python3 -m venv failed; install python3-venv (apt-get install python3-venv)" >&2
            exit 2
        fi
        python3 -m venv "$VENV"
    fi
fi
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -r notebooks/requirements.txt

# Jupyter and matplotlib write caches into ~ unless told otherwise.
STATE=$(mktemp -d)
export JUPYTER_CONFIG_DIR=$STATE/jupyter JUPYTER_DATA_DIR=$STATE/jupyter-data IPYTHONDIR=$STATE/ipython \
    MPLCONFIGDIR=$STATE/mpl CIRL_BIN=$PWD/target/release/cirl
cargo build --release --quiet
"$VENV/bin/python" -m pytest --nbmake notebooks/ -q
rm -rf "$STATE"
