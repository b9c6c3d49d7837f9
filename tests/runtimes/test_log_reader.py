"""cirl_gate.log.read: the gate's real SQLite log and a JSON Lines export of it, read into pandas, agree with each
other and with what the gate logged."""

import json
import os
import subprocess

import pandas as pd
import pytest

from cirl_gate import log as cirl_log

CIRL = os.environ.get("CIRL_BIN", "cirl")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run(*args, stdin=None):
    out = subprocess.run([CIRL, *args], input=stdin, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_sqlite_and_jsonl_read_the_same_calls(tmp_path):
    card = tmp_path / "card"
    run("calibrate", os.path.join(ROOT, "experiments/scenarios/coding-agent.toml"), "--mc", "0", "--no-plots",
        "--out", str(card))
    db = tmp_path / "d.sqlite"
    calls = [
        {"tool": "Bash", "input": {"command": "git push"}, "confidence": 0.99, "tool_use_id": "a"},
        {"tool": "Edit", "input": {"file_path": "src/main.rs"}, "confidence": 0.9, "tool_use_id": "b"},
        {"tool": "Bash", "input": {"command": "npm install x"}, "tool_use_id": "c"},
    ]
    run("gate", "--format", "jsonl", "--card", str(card / "card.json"), "--log", str(db),
        stdin="".join(json.dumps(c) + "\n" for c in calls))
    run("gate", "record", "--log", str(db), "--tool-use-id", "a", "--answer", "approve")
    run("gate", "record", "--log", str(db), "--tool-use-id", "a", "--outcome", "incident", "--cost", "120")
    run("gate", "record", "--log", str(db), "--tool-use-id", "b", "--outcome", "fine")
    before = db.read_bytes()
    df = cirl_log.read(db)
    assert db.read_bytes() == before, "reading changed the log"
    assert list(df["tool_use_id"]) == ["a", "b", "c"]
    a = df.set_index("tool_use_id").loc["a"]
    assert (a["class"], a["move"], a["answer"], a["outcome"], a["cost"]) == ("irreversible", "ask", "approve",
                                                                             "incident", 120.0)
    assert pd.isna(df.set_index("tool_use_id").loc["c", "class"])
    assert str(df["time"].dt.tz) == "UTC"
    jl = tmp_path / "d.jsonl"
    run("log", "export", "--log", str(db), "--out", str(jl))
    dj = cirl_log.read(jl)
    cols = ["time", "tool", "class", "confidence", "move", "decision", "answer", "outcome", "cost", "tool_use_id"]
    pd.testing.assert_frame_equal(df[cols], dj[cols], check_dtype=False)


def test_a_bad_line_is_named(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_text('{"time": "2026-12-01T00:00:00Z", "tool": "t"}\nnot json\n')
    with pytest.raises(ValueError, match="bad.jsonl:2"):
        cirl_log.read(p)


def test_choices_read_the_same_from_sqlite_and_jsonl(tmp_path):
    jl = tmp_path / "choices.jsonl"
    recs = [
        {"time": "2026-12-01T10:00:00Z", "tool": "reply", "class": "faq", "move": "ask", "tool_use_id": "x",
         "answer": "approve", "options": [{"label": "approve", "value": 1.5}, {"label": "reject", "value": 0.0}],
         "chosen": "approve"},
        {"time": "2026-12-01T10:01:00Z", "tool": "reply", "class": "faq", "move": "act", "tool_use_id": "y"},
    ]
    jl.write_text("".join(json.dumps(r) + "\n" for r in recs))
    db = tmp_path / "d.sqlite"
    run("log", "import", "--log", str(db), str(jl))
    for df in (cirl_log.read(db), cirl_log.read(jl)):
        x = df.set_index("tool_use_id")
        assert x.loc["x", "chosen"] == "approve"
        assert x.loc["x", "options"] == recs[0]["options"]
        assert x.loc["y", "options"] is None and pd.isna(x.loc["y", "chosen"])
