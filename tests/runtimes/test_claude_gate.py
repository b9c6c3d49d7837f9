"""`cirl gate` as the real Claude Code's PreToolUse hook: every call answered from the card, hand-overs and blocks
told why, confidence routed through a verifier, every decision in the log, and a broken hook failing closed."""

import json
import sqlite3

import pytest

import calls
import claude_code
from conftest import need

GATED = ["coding-agent", "support-bot", "confidence-trap-overconfident"]


def gate_settings(d, extra=""):
    s = json.loads((d / "claude-settings-gate.json").read_text())
    hook = s["hooks"]["PreToolUse"][0]["hooks"][0]
    hook["command"] += extra
    p = d / f"gate-settings{abs(hash(extra))}.json"
    p.write_text(json.dumps(s))
    return p, hook["command"]


def plan(card, proj):
    planned, servers, agents, ex = [], {}, set(), []
    for e in card["examples"]:
        tool, inp = calls.claude(e["call"], proj)
        planned.append({"name": tool, "input": inp})
        c = e["call"]
        if c["kind"] == "mcp":
            servers.setdefault(c["server"], set()).add(c["tool"])
        if c["kind"] == "agent":
            agents.add(c["name"])
        ex.append(e)
    return planned, {s: sorted(t) for s, t in servers.items()}, sorted(agents), ex


@pytest.mark.parametrize("name", GATED)
def test_the_gate_answers_every_call_as_the_card_says_and_logs_it(name, cards, cirl_bin, tmp_path):
    need(claude_code.CLAUDE, "Claude Code")
    d, card = cards[name]
    settings, _ = gate_settings(d)
    proj = tmp_path / "proj"
    proj.mkdir()
    planned, servers, agents, ex = plan(card, proj)
    results, _ = claude_code.run(settings, planned, tmp_path, mcp_servers=servers, agents=agents,
                                 extra_path=str(cirl_bin.parent))
    default = {"act": "allow", "ask": "ask", "block": "deny", "hand-over": "deny"}.get(card["gate"]["unmatched"])
    wrong = []
    for e, (got, text) in zip(ex, results):
        want = e["decision"] or default
        if e["call"]["kind"] == "mcp" and e["call"].get("annotations"):
            # Claude Code's hook payload carries no MCP annotations: the gate sees an unmatched call.
            want = default
        if got != want:
            wrong.append((e["text"], want, got, text[:120]))
        if got == "deny":
            assert "cirl:" in text, f"{e['text']}: the agent is not told why: {text[:200]}"
    assert not wrong, f"{name}: {wrong}"
    # Every call the hook answered is in the log, under Claude Code's tool-use id.
    db = sqlite3.connect(d / "decisions.sqlite")
    ids = {r[0] for r in db.execute("select tool_use_id from decisions where runtime = 'claude-hook'")}
    assert {f"toolu_{i:04d}" for i in range(len(planned))} <= ids
    assert db.execute("pragma integrity_check").fetchone()[0] == "ok"


def test_confidence_from_a_verifier_routes_the_call_inside_its_class(cards, cirl_bin, tmp_path):
    need(claude_code.CLAUDE, "Claude Code")
    d, card = cards["coding-agent"]
    irr = next(c for c in card["classes"] if c["name"] == "irreversible")
    moves = [r["move"] for r in irr["regions"]]
    assert moves[0] == "block" and moves[-1] == "act", moves
    verifier = tmp_path / "verifier.py"
    # The agent is sure of pushes to its own branch and unsure of deletes.
    verifier.write_text(
        "import json, sys\n"
        "cmd = json.load(sys.stdin)['tool_input'].get('command', '')\n"
        "print(0.9999 if 'origin cirl-branch' in cmd else 0.01)\n")
    settings, _ = gate_settings(d, f" --verifier 'python3 {verifier}'")
    planned = [{"name": "Bash", "input": {"command": c, "description": "x"}}
               for c in ("git push origin cirl-branch", "rm -rf target")]
    results, _ = claude_code.run(settings, planned, tmp_path, extra_path=str(cirl_bin.parent))
    (push, _), (rm, rm_text) = results
    assert (push, rm) == ("allow", "deny"), results
    assert "block" in rm_text and "reported confidence 0.010" in rm_text, rm_text
    db = sqlite3.connect(d / "decisions.sqlite")
    rows = db.execute("select confidence, confidence_source, move from decisions where runtime = 'claude-hook' "
                      "and confidence is not null order by id desc limit 2").fetchall()
    assert sorted(rows) == [(0.01, "verifier", "block"), (0.9999, "verifier", "act")], rows


def test_a_broken_hook_fails_closed(cards, cirl_bin, tmp_path):
    need(claude_code.CLAUDE, "Claude Code")
    d, _ = cards["coding-agent"]
    s = json.loads((d / "claude-settings-gate.json").read_text())
    hook = s["hooks"]["PreToolUse"][0]["hooks"][0]
    hook["command"] = hook["command"].replace("card.json", "no-such-card.json")
    settings = tmp_path / "broken.json"
    settings.write_text(json.dumps(s))
    planned = [{"name": "Bash", "input": {"command": "cargo test", "description": "x"}}]
    ((got, text),), _ = claude_code.run(settings, planned, tmp_path, extra_path=str(cirl_bin.parent))
    assert got != "allow" and "no-such-card.json" in text, (got, text)
