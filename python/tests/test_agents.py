"""cirl.solve, cirl.calibrate and cirl.Gate against the CLI's JSON and the decision log."""

import json
import sqlite3

import pytest

import cirl


def test_solve_is_the_clis_json(cli):
    args = ["--set", "prior=normal:0.25,1", "--set", "human=boltzmann:0.5"]
    want = json.loads(cli("solve", "offswitch", "--json", *args))
    got = cirl.solve("offswitch", prior="normal:0.25,1", human="boltzmann:0.5")
    for k in ("value", "solver", "model"):
        assert got[k] == want[k], k


def test_solve_pbvi_with_a_policy_file(cli, root, tmp_path):
    pomdp = next((root / "experiments" / "models").glob("*.pomdp"))
    got = cirl.solve(pomdp, "pbvi", policy=tmp_path / "policy.json", tolerance=1e-3)
    want = json.loads(cli("solve", str(pomdp), "--solver", "pbvi", "--tolerance", "1e-3", "--json"))
    assert got["value"] == want["value"]
    assert json.loads((tmp_path / "policy.json").read_text())


def test_solve_bad_inputs():
    with pytest.raises(cirl.InvalidError, match="solver"):
        cirl.solve("offswitch", "annealing")
    with pytest.raises(cirl.Error, match="nonsense"):
        cirl.solve("offswitch", nonsense=3)


def test_calibrate_is_the_clis_card(cli, root, tmp_path):
    scenario = root / "experiments" / "scenarios" / "coding-agent.toml"
    want = json.loads(cli("calibrate", str(scenario), "--json", "--mc", "20000", "--seed", "3"))
    card = cirl.calibrate(scenario, mc=20000, seed=3)
    assert card.card == want and card.files == ()
    written = cirl.calibrate(scenario, tmp_path / "card", mc=0, plots=False)
    assert written.path("card.json").is_file() and written.classes
    with pytest.raises(cirl.InvalidError, match="mc"):
        cirl.calibrate(scenario, mc=10**15)


def test_the_gate_decides_as_the_cli_and_logs(cli, root, tmp_path):
    scenario = root / "experiments" / "scenarios" / "coding-agent.toml"
    card = cirl.calibrate(scenario, tmp_path / "card", mc=0, plots=False)
    calls = [
        {"tool": "Bash", "input": {"command": "git push"}, "confidence": 0.99, "tool_use_id": "a"},
        {"tool": "Edit", "input": {"file_path": "src/main.rs"}, "confidence": 0.9, "tool_use_id": "b"},
        {"tool": "Bash", "input": {"command": "npm install x"}, "tool_use_id": "c"},
        {"tool": "Read", "input": {"file_path": "README.md"}, "tool_use_id": "d"},
    ]
    out = cli("gate", "--format", "jsonl", "--card", str(card.path()),
              stdin="".join(json.dumps(c) + "\n" for c in calls))
    want = [json.loads(line) for line in out.splitlines()]
    log = tmp_path / "d.sqlite"
    gate = cirl.Gate(card, log=log)
    assert gate.scenario == card.card["scenario"]
    for c, w in zip(calls, want):
        d = gate.decide(c["tool"], c["input"], confidence=c.get("confidence"), tool_use_id=c["tool_use_id"])
        assert (d.decision, d.move, d.cls, d.reason) == (w["decision"], w["move"], w["class"], w["reason"])
        assert d.id is not None
    rows = sqlite3.connect(log).execute("select tool_use_id, decision from decisions order by id").fetchall()
    assert [r[0] for r in rows] == ["a", "b", "c", "d"]
    with pytest.raises(cirl.InvalidError, match="request.confidence"):
        gate.decide("Bash", {"command": "ls"}, confidence=1.5)
    with pytest.raises(cirl.InvalidError, match="--card"):
        cirl.Gate(tmp_path / "d.sqlite")
