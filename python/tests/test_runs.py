"""cirl.run / cirl.reproduce: the CLI's outputs byte for byte, the tables through Arrow, errors and checks."""

import json

import numpy as np
import pandas as pd
import polars as pl
import pyarrow.parquet as pq
import pytest

import cirl

SWEEP = """
name = "py-sweep"
[sweep]
prior = ["normal", "uniform"]
human = ["boltzmann", "rational"]
mu = [-0.25, 0.0, 0.3]
sigma = { start = 0.0, stop = 2.0, num = 21 }
beta = { start = 0.0, stop = 1.5, num = 7 }
cost = [0.0, 0.05]
[frontier]
along = "beta"
[[check]]
claim = "asking never beats acting by more than the spread"
column = "delta"
max = 10.0
"""


@pytest.fixture()
def sweep(tmp_path):
    p = tmp_path / "sweep.toml"
    p.write_text(SWEEP)
    return p


def test_run_writes_what_the_cli_writes(cli, sweep, tmp_path):
    for fmt in ["csv", "parquet"]:
        r = cirl.run(sweep, tmp_path / f"py-{fmt}", format=fmt, plots=False)
        cli("run", str(sweep), "--out", str(tmp_path / f"cli-{fmt}"), "--quiet", "--no-plots", "--format", fmt)
        for name in [f"results.{fmt}", f"frontier.{fmt}", "config.resolved.toml"]:
            assert (r.dir / name).read_bytes() == (tmp_path / f"cli-{fmt}" / name).read_bytes(), name
        assert r.rows == 2 * 3 * 21 * 2 * (7 + 1) and r.passed  # a rational human has no β axis
        assert r.tables == ("results", "frontier")


def test_parquet_tables_hold_the_csv_values(sweep, tmp_path):
    p = cirl.run(sweep, tmp_path / "p", plots=False)
    c = cirl.run(sweep, tmp_path / "c", plots=False, format="csv")
    for name in ["results", "frontier"]:
        a = p.table(name)
        b = c.table(name)
        assert list(a.columns) == list(b.columns)
        for col in a.columns:
            x, y = a[col], b[col]
            if not (pd.api.types.is_numeric_dtype(x) and pd.api.types.is_numeric_dtype(y)):
                assert x.fillna("").astype(str).tolist() == y.fillna("").astype(str).tolist(), col
            else:
                # shortest round-trip CSV parses back to the very bits Parquet stores (−0 aside: CSV writes 0)
                assert np.array_equal(x.to_numpy(float), y.to_numpy(float), equal_nan=True), col
    t = pq.read_table(p.dir / "results.parquet")
    types = {f.name: str(f.type) for f in t.schema}
    assert types["prior"] == "string" and types["mu"] == "double" and types["tie"] == "bool"
    assert pq.ParquetFile(p.dir / "results.parquet").metadata.created_by.startswith("cirl ")


def test_frames(sweep, tmp_path):
    r = cirl.run(sweep, tmp_path / "f", plots=False)
    df = r.table("results", frame="polars")
    assert isinstance(df, pl.DataFrame) and df.height == r.rows
    assert isinstance(r.results, pd.DataFrame) and len(r.results) == r.rows
    arrow = r.table("frontier", frame="arrow")
    assert arrow.num_rows == len(r.table("frontier"))
    with pytest.raises(cirl.InvalidError, match="no table 'nope'; its tables are results, frontier"):
        r.table("nope")
    with pytest.raises(cirl.InvalidError, match="frame: 'excel'"):
        r.table("results", frame="excel")


def test_reproduce_is_the_clis(cli, tmp_path):
    assert "hm2017-fig3" in cirl.reproductions()
    assert "offswitch" in cirl.models()
    r = cirl.reproduce("hm2017-fig3", tmp_path / "py", plots=False)
    cli("reproduce", "hm2017-fig3", "--out", str(tmp_path / "cli"), "--quiet", "--no-plots", "--format", "parquet")
    assert (r.dir / "results.parquet").read_bytes() == (tmp_path / "cli" / "results.parquet").read_bytes()
    assert r.passed and len(r.checks) > 0 and "Checks against the paper" in r.summary


def test_threads_do_not_change_the_bytes(sweep, tmp_path):
    a = cirl.run(sweep, tmp_path / "t1", threads=1, plots=False)
    b = cirl.run(sweep, tmp_path / "t2", threads=2, plots=False)
    assert (a.dir / "results.parquet").read_bytes() == (b.dir / "results.parquet").read_bytes()


def test_a_failed_check_raises_with_the_run(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text(SWEEP.replace("max = 10.0", "max = -10.0"))
    with pytest.raises(cirl.CheckError, match="1 of 1 checks failed: asking never beats") as e:
        cirl.run(p, tmp_path / "o", plots=False)
    assert e.value.run.rows > 0 and not e.value.run.passed
    r = cirl.run(p, tmp_path / "o2", plots=False, check=False)
    assert not r.passed


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda t: cirl.run(t / "missing.toml", t / "o"), cirl.InvalidError, "missing.toml: No such file"),
        (lambda t: cirl.run(t / "bad.toml", t / "o"), cirl.ConfigError, "unknown field `sigmas`"),
        (lambda t: cirl.run(t / "bad.toml", t / "o", format="xlsx"), cirl.InvalidError, "--format: 'xlsx'"),
        (lambda t: cirl.run(t / "bad.toml", t / "o", threads=0), cirl.InvalidError, "threads: must be at least 1"),
        (lambda t: cirl.reproduce("hm1999", t / "o"), cirl.InvalidError, "no reproduction named"),
    ],
)
def test_bad_inputs(tmp_path, call, exc, match):
    (tmp_path / "bad.toml").write_text('name = "b"\n[sweep]\nsigmas = [1]\n')
    with pytest.raises(exc, match=match) as e:
        call(tmp_path)
    assert isinstance(e.value, ValueError) and "\n" not in str(e.value)


def test_resume_of_a_complete_run_rewrites_the_same_bytes(sweep, tmp_path):
    a = cirl.run(sweep, tmp_path / "r", plots=False)
    before = (a.dir / "results.parquet").read_bytes()
    b = cirl.run(sweep, tmp_path / "r", plots=False, resume=True)
    assert b.jobs_run == 0 and (b.dir / "results.parquet").read_bytes() == before
    assert json.loads(json.dumps(b.rows)) == a.rows
