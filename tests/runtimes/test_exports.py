"""Every shipped scenario's exports, loaded by the runtimes themselves, decide every example call as the card
says: Gemini CLI's policy loader and engine, Codex's exec-policy checker and the real Claude Code."""

import json
import pathlib
import subprocess

import pytest

import calls
import claude_code
from conftest import HERE, SCENARIOS, need

GEMINI = {"allow": "allow", "ask": "ask_user", "deny": "deny"}
CODEX = {"allow": "allow", "ask": "prompt", "deny": "forbidden"}


def checked(card):
    """The example calls the static rules decide (a call no class covers is the runtime's own business)."""
    return [e for e in card["examples"] if e["decision"] is not None]


@pytest.mark.parametrize("name", SCENARIOS)
def test_gemini_loads_the_policy_and_decides_every_example(name, cards):
    need(HERE / "node_modules" / "@google" / "gemini-cli-core", "Gemini CLI's core package")
    d, card = cards[name]
    ex = checked(card)
    req = {"policy": str(d / "gemini-policy.toml"), "calls": []}
    for e in ex:
        n, args, server, ann = calls.gemini(e["call"])
        req["calls"].append({"name": n, "args": args, "server": server, "annotations": ann})
    p = subprocess.run(["node", str(HERE / "gemini_check.mjs")], input=json.dumps(req), capture_output=True,
                       text=True, cwd=HERE, timeout=120)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout.strip().splitlines()[-1])
    # The real loader accepts every rule: no schema, rule or regex error, not even a tool-name warning.
    assert out["errors"] == [], out["errors"]
    assert out["rules"] > 0
    wrong = [(e["text"], e["decision"], got) for e, got in zip(ex, out["decisions"]) if GEMINI[e["decision"]] != got]
    assert not wrong, f"{name}: Gemini decides differently: {wrong}"


@pytest.mark.parametrize("name", SCENARIOS)
def test_codex_loads_the_rules_and_decides_every_shell_example(name, cards):
    codex = HERE / "node_modules" / ".bin" / "codex"
    need(codex, "Codex")
    d, card = cards[name]
    rules = d / "codex.rules"
    shell = [(e, calls.codex(e["call"])) for e in checked(card)]
    shell = [(e, t) for e, t in shell if t]
    if not rules.read_text().count("prefix_rule("):
        assert not shell, f"{name}: shell examples but no Codex rules"
        return
    for e, tokens in shell:
        p = subprocess.run([str(codex), "execpolicy", "check", "--rules", str(rules), *tokens],
                           capture_output=True, text=True, timeout=60)
        # Loading checks every rule's match / not_match examples: a wrong one fails here.
        assert p.returncode == 0, f"{name}: {p.stderr[-1500:]}"
        got = json.loads(p.stdout).get("decision")
        assert got == CODEX[e["decision"]], f"{name}: {e['text']}: Codex {got}, card {e['decision']}"


@pytest.mark.parametrize("name", SCENARIOS)
def test_claude_code_loads_the_settings_and_decides_every_example(name, cards, tmp_path):
    need(claude_code.CLAUDE, "Claude Code")
    d, card = cards[name]
    skip = {n["class"] for n in card["export_notes"] if n["runtime"] == "claude-code" and not n["decides"]}
    ex = [e for e in checked(card) if e["deciding_class"] not in skip and e["class"] not in skip]
    proj = tmp_path / "proj"
    proj.mkdir()
    planned, servers, agents = [], {}, set()
    for e in ex:
        tool, inp = calls.claude(e["call"], proj)
        planned.append({"name": tool, "input": inp})
        c = e["call"]
        if c["kind"] == "mcp":
            hints = ",".join(k for k, v in (c.get("annotations") or {}).items() if v)
            servers.setdefault(c["server"], set()).add(c["tool"] + (f":{hints}" if hints else ""))
        if c["kind"] == "agent":
            agents.add(c["name"])
    results, proc = claude_code.run(d / "claude-settings.json", planned, tmp_path,
                                    mcp_servers={s: sorted(t) for s, t in servers.items()}, agents=sorted(agents))
    wrong = [(e["text"], e["decision"], got, text[:100]) for e, (got, text) in zip(ex, results)
             if got != e["decision"]]
    assert not wrong, f"{name}: Claude Code decides differently: {wrong}"


def test_claude_code_ignores_agent_rules_in_ask_so_the_export_leaves_them_out(tmp_path):
    """The fact behind an export note: `Agent(name)` is consulted in deny rules but not in ask rules."""
    need(claude_code.CLAUDE, "Claude Code")
    s = tmp_path / "s.json"
    s.write_text(json.dumps({"permissions": {"ask": ["Agent(refactor)"], "deny": ["Agent(danger)"]}}))
    planned = [{"name": "Agent", "input": {"description": "d", "prompt": "Say done.", "subagent_type": a}}
               for a in ("refactor", "danger")]
    (ask, _), (deny, _) = claude_code.run(s, planned, tmp_path, agents=["refactor", "danger"])[0]
    assert (ask, deny) == ("allow", "deny")
