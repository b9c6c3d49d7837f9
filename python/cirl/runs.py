"""Experiments from Python: :func:`run` a config, :func:`reproduce` a paper result, and read the results as
DataFrames.

A run writes what ``cirl run`` writes (results, further tables, plots, ``summary.md``, ``config.resolved.toml``)
into its output folder; by default as Parquet (``format="parquet"``), so :meth:`Run.table` reads the typed columns
through Arrow (pyarrow, or polars' own reader) with no CSV round trip. The run itself is the Rust library's, with
the GIL released: the numbers are the command line's, byte for byte.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from . import _cirl
from ._cirl import CheckError, InvalidError

Frame = Literal["pandas", "polars", "arrow"]


@dataclass(frozen=True)
class Check:
    """One claim or ``[[check]]`` of a run and its verdict."""

    claim: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class Run:
    """What a run produced: its output folder, rows, files and checks."""

    name: str
    title: str
    dir: Path
    rows: int
    files: tuple[Path, ...]
    checks: tuple[Check, ...]
    seconds: float
    jobs_run: int
    jobs_reused: int

    @property
    def passed(self) -> bool:
        """Whether every check passed."""
        return all(c.passed for c in self.checks)

    @property
    def tables(self) -> tuple[str, ...]:
        """The names of the run's tables (``results``, ``frontier``, a kind's own such as ``conditions``)."""
        return tuple(f.stem for f in self.files if f.suffix in (".parquet", ".csv"))

    def table(self, name: str = "results", frame: Frame = "pandas") -> Any:
        """The table ``name`` as a pandas or polars DataFrame, or a ``pyarrow.Table`` (``frame="arrow"``).

        Parquet files are read through Arrow (pyarrow; polars with its own reader); a run made with
        ``format="csv"`` is read from its CSV.
        """
        path = next((f for f in self.files if f.stem == name and f.suffix in (".parquet", ".csv")), None)
        if path is None:
            raise InvalidError(f"table: the run has no table '{name}'; its tables are {', '.join(self.tables)}")
        if frame not in ("pandas", "polars", "arrow"):
            raise InvalidError(f"frame: '{frame}' is not a frame kind; use pandas, polars or arrow")
        if frame == "polars":
            import polars as pl

            return pl.read_parquet(path) if path.suffix == ".parquet" else pl.read_csv(path)
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            t = pq.read_table(path)
            return t if frame == "arrow" else t.to_pandas()
        if frame == "arrow":
            import pyarrow.csv as pc

            return pc.read_csv(path)
        import pandas as pd

        return pd.read_csv(path)

    @property
    def results(self) -> Any:
        """The results table as a pandas DataFrame."""
        return self.table("results")

    @property
    def summary(self) -> str:
        """The run's ``summary.md``."""
        return (self.dir / "summary.md").read_text()


def _outcome(text: str, check: bool) -> Run:
    d = json.loads(text)
    r = Run(
        name=d["name"],
        title=d["title"],
        dir=Path(d["out"]),
        rows=d["rows"],
        files=tuple(Path(f) for f in d["files"]),
        checks=tuple(Check(**c) for c in d["checks"]),
        seconds=d["seconds"],
        jobs_run=d["jobs_run"],
        jobs_reused=d["jobs_reused"],
    )
    failed = [c for c in r.checks if not c.passed]
    if check and failed:
        e = CheckError(
            f"{r.dir}: {len(failed)} of {len(r.checks)} checks failed: "
            + "; ".join(f"{c.claim} ({c.detail})" for c in failed)
        )
        e.run = r  # type: ignore[attr-defined]
        raise e
    return r


def run(
    config: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    *,
    format: Literal["parquet", "csv"] = "parquet",
    threads: int | None = None,
    resume: bool = False,
    force: bool = False,
    plots: bool = True,
    check: bool = True,
) -> Run:
    """Runs an experiment config, as ``cirl run CONFIG --out OUT --format FORMAT``.

    ``out`` defaults to ``runs/NAME`` (NAME from the config). ``threads`` bounds the worker threads (all cores
    by default; the results do not depend on it). ``resume`` continues a killed run in the same ``out``;
    ``force`` discards another run's journal there. With ``check`` (the default), a run whose checks fail
    raises :class:`cirl.CheckError` (its ``run`` attribute holds the :class:`Run`), as the command line exits 1.
    """
    text = _cirl.run(
        os.fspath(config),
        None if out is None else os.fspath(out),
        format,
        threads,
        resume,
        force,
        plots,
    )
    return _outcome(text, check)


def reproduce(
    name: str,
    out: str | os.PathLike[str] | None = None,
    *,
    format: Literal["parquet", "csv"] = "parquet",
    threads: int | None = None,
    plots: bool = True,
    check: bool = True,
) -> Run:
    """Regenerates a paper result (see :func:`reproductions`), as ``cirl reproduce NAME --out OUT``.

    >>> r = reproduce("hm2017-fig2", "/tmp/cirl-doctest-fig2", plots=False)  # doctest: +SKIP
    """
    return _outcome(
        _cirl.reproduce(name, None if out is None else os.fspath(out), format, threads, plots),
        check,
    )


def reproductions() -> dict[str, str]:
    """The named paper results (``cirl list``): name → title."""
    return {r["name"]: r["title"] for r in json.loads(_cirl.catalogue())["reproductions"]}


def models() -> dict[str, str]:
    """The registered games ``cirl solve`` takes by name: name → description."""
    return {m["name"]: m["about"] for m in json.loads(_cirl.catalogue())["models"]}
