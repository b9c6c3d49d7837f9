#!/usr/bin/env bash
# The whole test suite: Rust tests (unit, property, CLI, doc), the Python package's tests (pytest), the notebooks
# executed headless, the teaching page (`cirl serve`) in headless Chromium, and the runtime tests: the exports and
# the gate in the real agent runtimes (Gemini CLI's policy loader, Codex, Claude Code from the npm registry; the
# OpenAI Agents SDK and LangChain from PyPI), all offline.
# Needs Rust, python3 and Node.js with npm; creates a virtualenv in .venv (or $CIRL_VENV) for the pinned Python
# packages, installs the pinned npm packages into tests/runtimes/node_modules and tests/browser/node_modules, and
# Debian's chromium with apt if /usr/bin/chromium is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --release
# The user examples (library use from Rust), each of which checks what it prints.
for e in offswitch_values custom_cirl_game calibrate_scenario; do
    cargo run --release --quiet --example "$e" >/dev/null
done

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
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -r notebooks/requirements.txt \
    -r tests/runtimes/requirements.txt -r python/requirements-test.txt ./adapters/python
# The Python package (PyO3 bindings built by maturin into the workspace's target/, reusing the built crate).
"$VENV/bin/python" -m pip install -q --disable-pip-version-check ./python
if ! command -v npm >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
    elif command -v sudo >/dev/null; then
        sudo apt-get update -qq && sudo apt-get install -y -qq nodejs npm >/dev/null
    fi
fi
if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' 2>/dev/null; then
    echo "error: the runtime tests need Node.js 20 or later with npm (Gemini CLI requires it); found $(node --version 2>&1)" >&2
    exit 2
fi
(cd tests/runtimes && npm ci --no-audit --no-fund --loglevel=error)
# The teaching page's browser test drives Debian's Chromium (no browser download) with playwright-core.
if [ ! -x /usr/bin/chromium ]; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && apt-get install -y -qq chromium >/dev/null
    elif command -v sudo >/dev/null; then
        sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null
    else
        echo "error: the browser test needs Chromium at /usr/bin/chromium (apt-get install chromium)" >&2
        exit 2
    fi
fi
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)

# Jupyter and matplotlib write caches into ~ unless told otherwise.
STATE=$(mktemp -d)
export JUPYTER_CONFIG_DIR=$STATE/jupyter JUPYTER_DATA_DIR=$STATE/jupyter-data IPYTHONDIR=$STATE/ipython \
    MPLCONFIGDIR=$STATE/mpl CIRL_BIN=$PWD/target/release/cirl
cargo build --release --quiet
"$VENV/bin/python" -m pytest python/tests -q -p no:cacheprovider
"$VENV/bin/python" -m pytest --nbmake notebooks/ -q
OPENAI_AGENTS_DISABLE_TRACING=1 "$VENV/bin/python" -m pytest tests/runtimes -q -p no:cacheprovider
# `cirl serve` in headless Chromium: the page shows the CLI's numbers, offline, updating within 50 ms.
HOME=$STATE node --test tests/browser/
rm -rf "$STATE"
