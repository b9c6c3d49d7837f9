"""Latency of `cirl gate` per decision, side by side with reference hooks (issue 15: p99 ≤ 5 ms per decision
for a warm card).

Usage: python benches/reference/gate_latency.py CIRL_BIN [N]

- `cirl gate --format claude-hook`: one process per decision, as Claude Code runs a PreToolUse hook, with the
  decision log (SQLite WAL, on this machine's disk) and without it (`--no-log`);
- `cirl gate --format jsonl`: one long-lived process, a request-response round trip per decision (the SDK
  adapters' path), with the log;
- references: a minimal Python hook that reads the payload and prints a fixed decision (the usual way hooks are
  written), and `/bin/true` (the cost of starting a process at all).

The card is the coding agent's, written to a temporary directory (page-cached: "warm"). Every configuration is
timed N times, interleaved round-robin so that drift hits them alike; prints one JSON object.
"""

import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

cirl = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
root = pathlib.Path(__file__).resolve().parents[2]
tmp = pathlib.Path(tempfile.mkdtemp())
subprocess.run([cirl, "calibrate", str(root / "experiments/scenarios/coding-agent.toml"), "--out", str(tmp / "card"),
                "--mc", "0", "--no-plots"], check=True, capture_output=True)
card = tmp / "card" / "card.json"
log = tmp / "decisions.sqlite"
payload = json.dumps({"session_id": "s", "transcript_path": "/t", "cwd": str(tmp), "permission_mode": "default",
                      "hook_event_name": "PreToolUse", "tool_name": "Bash",
                      "tool_input": {"command": "git push origin main"}, "tool_use_id": "toolu_1"}).encode()
ref_hook = tmp / "ref_hook.py"
ref_hook.write_text("import json, sys\np = json.load(sys.stdin)\n"
                    "print(json.dumps({'hookSpecificOutput': {'hookEventName': 'PreToolUse', 'permissionDecision': "
                    "'ask' if p['tool_input'].get('command', '').startswith('git push') else 'allow', "
                    "'permissionDecisionReason': 'fixed'}}))\n")

configs = {
    "cirl gate claude-hook, logged": [cirl, "gate", "--card", str(card), "--format", "claude-hook", "--log", str(log)],
    "cirl gate claude-hook, --no-log": [cirl, "gate", "--card", str(card), "--format", "claude-hook", "--no-log"],
    "reference: Python hook": [sys.executable, str(ref_hook)],
    "reference: /bin/true": ["/bin/true"],
}
times = {k: [] for k in configs}
for _ in range(20):  # warm the page cache and the log
    for cmd in configs.values():
        subprocess.run(cmd, input=payload, stdout=subprocess.DEVNULL, check=True)
for _ in range(n):
    for name, cmd in configs.items():
        t = time.perf_counter()
        p = subprocess.run(cmd, input=payload, stdout=subprocess.PIPE, check=True)
        times[name].append(time.perf_counter() - t)
        assert name.startswith("reference: /bin") or b"permissionDecision" in p.stdout, p.stdout

# The jsonl service: round trips in one process.
proc = subprocess.Popen([cirl, "gate", "--card", str(card), "--format", "jsonl", "--log", str(log)],
                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
req = json.dumps({"tool": "bash", "input": {"command": "git push origin main"}, "confidence": 0.97}) + "\n"
rt = []
for i in range(n + 50):
    t = time.perf_counter()
    proc.stdin.write(req)
    proc.stdin.flush()
    line = proc.stdout.readline()
    if i >= 50:
        rt.append(time.perf_counter() - t)
    assert '"decision"' in line, line
proc.stdin.close()
proc.wait()
times["cirl gate jsonl round trip, logged"] = rt


def q(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p * (len(xs) - 1))))]


out = {name: {"n": len(xs), "p50_ms": 1e3 * q(xs, 0.5), "p90_ms": 1e3 * q(xs, 0.9), "p99_ms": 1e3 * q(xs, 0.99),
              "max_ms": 1e3 * max(xs), "mean_ms": 1e3 * statistics.mean(xs)} for name, xs in times.items()}
out["_card_bytes"] = card.stat().st_size
out["_logged_decisions"] = int(subprocess.run(
    [sys.executable, "-c", f"import sqlite3; print(sqlite3.connect('{log}').execute('select count(*) from decisions').fetchone()[0])"],
    capture_output=True, text=True).stdout)
print(json.dumps(out, indent=1))
