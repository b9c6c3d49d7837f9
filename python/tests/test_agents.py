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


def _log_lines(n=400, seed=3):
    import numpy as np

    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        cls = ["read-search", "edit-file", "irreversible"][i % 3]
        tool = {"read-search": "Read", "edit-file": "Edit", "irreversible": "Bash"}[cls]
        r = {"time": f"2026-11-0{1 + i % 7}T10:{i % 60:02d}:00.000Z", "tool": tool, "class": cls,
             "confidence": float(rng.uniform(0.5, 1.0)), "move": "ask" if cls == "irreversible" else "act",
             "tool_use_id": f"c{i}"}
        if cls == "irreversible":
            r["answer"] = "approve" if rng.random() < 0.8 else "reject"
        r["outcome"] = "fine" if rng.random() < 0.85 else ("incident" if cls == "irreversible" else "undone")
        if r["outcome"] != "fine":
            r["cost"] = 100.0 if cls == "irreversible" else 1.0
        rows.append(json.dumps(r) + "\n")
    return "".join(rows)


def test_fit_and_the_log_are_the_clis(cli, root, tmp_path):
    scenario = root / "experiments" / "scenarios" / "coding-agent.toml"
    jl = tmp_path / "log.jsonl"
    jl.write_text(_log_lines())
    db = tmp_path / "log.sqlite"
    counts = cirl.import_log(jl, db)
    assert counts["added"] == 400 and counts["duplicates"] == 0
    assert cirl.import_log(jl, db)["present"] == 400  # importing twice adds nothing
    assert cirl.export_log(db, tmp_path / "back.jsonl") == 400
    want = json.loads(cli("fit", str(db), "--scenario", str(scenario), "--samples", "200", "--json"))
    got = cirl.fit(db, scenario, samples=200)
    assert got.fit == want and got.diff is None
    r = cirl.fit(db, scenario, tmp_path / "refit", samples=200, window="1d")
    cli("fit", str(db), "--scenario", str(scenario), "--samples", "200", "--window", "1d",
        "--out", str(tmp_path / "cli-refit"))
    for name in ["fit.json", "diff.json", "scenario.toml", "diff.md"]:
        assert (tmp_path / "refit" / name).read_bytes() == (tmp_path / "cli-refit" / name).read_bytes(), name
    assert r.diff["classes"] and len(r.drift) == 7 and r.reviewer["catch_bad"]["mean"] > 0
    with pytest.raises(cirl.InvalidError, match="reviewer"):
        cirl.fit(db, scenario, reviewer="lenient")
    with pytest.raises(cirl.InvalidError, match="samples"):
        cirl.fit(db, scenario, samples=3)


def test_posg_is_the_clis(cli, root):
    game = root / "experiments" / "reproduce" / "garber2025" / "cheap-talk.toml"
    want = json.loads(cli("posg", str(game), "--json"))
    got = cirl.offswitch.posg(game)
    assert got["value"] == want["value"] and got.keys() == want.keys()
    # Observation interference (Emmons et al. 2025): the interference solver's answer, as the CLI's.
    game = root / "experiments" / "reproduce" / "emmons2025" / "must-interfere.toml"
    want = json.loads(cli("posg", str(game), "--json"))
    got = cirl.offswitch.posg(game)
    assert got == want and got["p_interfere_min"] == 0.5
    with pytest.raises(cirl.InvalidError, match="heuristic"):
        cirl.offswitch.posg(game, heuristic=True)
