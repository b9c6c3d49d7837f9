"""Games and escalation from Python: :func:`solve` a CIRL game or POMDP, :func:`calibrate` a scenario into a
policy card, and decide tool calls with a card's :class:`Gate`.

Each returns what the command line's ``--json`` prints (``cirl solve``, ``cirl calibrate``, ``cirl gate
--format jsonl``), parsed into Python objects; the work is the Rust library's, with the GIL released.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import _cirl


def solve(
    model: str | os.PathLike[str],
    solver: str = "exact",
    *,
    tolerance: float | None = None,
    simulate: int | None = None,
    seed: int | None = None,
    max_beliefs: int | None = None,
    histories: int = 0,
    policy: str | os.PathLike[str] | None = None,
    **params: Any,
) -> dict[str, Any]:
    """Solves a registered game (see :func:`cirl.models`), a game ``.toml`` or a ``.pomdp`` file, as
    ``cirl solve MODEL --solver SOLVER --set KEY=VALUE ... --json``.

    ``params`` override the game's parameters (``discount=0.9`` is ``--set discount=0.9``); ``policy`` writes
    the policy as JSON to that file. The solver's notes are issued as :class:`UserWarning`.

    >>> r = solve("offswitch", prior="normal:0.25,1", human="boltzmann:0.5")  # doctest: +SKIP
    """
    sets = game_sets(params)
    text, notes = _cirl.solve(
        os.fspath(model),
        solver,
        sets,
        tolerance,
        simulate,
        seed,
        max_beliefs,
        histories,
        None if policy is None else os.fspath(policy),
    )
    for n in notes:
        warnings.warn(n, stacklevel=2)
    return json.loads(text)


def game_sets(params: dict[str, Any] | None) -> list[str]:
    """A game's parameter overrides as the command line's ``--set KEY=VALUE`` strings (flags as true/false)."""
    return [f"{k}={('true' if v else 'false') if isinstance(v, bool) else v}" for k, v in (params or {}).items()]


@dataclass(frozen=True)
class Card:
    """A calibrated policy card: the card as ``cirl calibrate --json`` prints it, and the files written."""

    card: dict[str, Any]
    files: tuple[Path, ...]

    @property
    def classes(self) -> list[dict[str, Any]]:
        """The action classes with their moves, thresholds and flip points."""
        return self.card["classes"]

    def path(self, name: str = "card.json") -> Path:
        """The path of a written file by name (``card.json``, an export, a plot)."""
        for f in self.files:
            if f.name == name:
                return f
        raise _cirl.InvalidError(f"path: no file '{name}' was written; pass out= to calibrate to write the card")


def calibrate(
    scenario: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    *,
    mc: int = 1_000_000,
    seed: int = 0,
    plots: bool = True,
) -> Card:
    """Calibrates a scenario, as ``cirl calibrate SCENARIO --json [--out OUT]``: with ``out``, the card, its
    exports (Claude Code, Gemini CLI, Codex, LangChain, …) and, with ``plots``, the plots are written there.
    ``mc`` simulated actions check the class values (0: none)."""
    text, files = _cirl.calibrate(os.fspath(scenario), None if out is None else os.fspath(out), mc, seed, plots)
    return Card(card=json.loads(text), files=tuple(Path(f) for f in files))


@dataclass(frozen=True)
class Decision:
    """The gate's answer to one tool call (``cirl gate --format jsonl``)."""

    #: allow | ask | deny | defer.
    decision: str
    #: act | ask | block | handover (none: deferred to the runtime).
    move: str | None
    #: The class that decided (none: no class matched).
    cls: str | None
    #: The deciding class's region [from, to) of reported confidence.
    region: tuple[float, float] | None
    reason: str
    confidence: float | None
    confidence_source: str
    #: The decision's id in the log (when the gate has one).
    id: int | None
    request_id: Any = None


class Gate:
    """The runtime gate of a card: ``Gate(card).decide(tool, input, confidence=...)`` answers a tool call as
    the card says (the strictest move of the classes whose tools match it), and with ``log`` commits every
    decision to that decision log (SQLite) before returning it — as ``cirl gate --log LOG`` does.
    """

    def __init__(
        self,
        card: str | os.PathLike[str] | Card,
        log: str | os.PathLike[str] | None = None,
        runtime: str = "python",
    ) -> None:
        path = card.path("card.json") if isinstance(card, Card) else os.fspath(card)
        self._gate = _cirl.Gate(os.fspath(path), None if log is None else os.fspath(log), runtime)

    @property
    def scenario(self) -> str:
        """The card's scenario name."""
        return self._gate.scenario

    @property
    def card_hash(self) -> str:
        """The hash of the card's gate section."""
        return self._gate.card_hash

    def decide(
        self,
        tool: str,
        input: dict[str, Any] | None = None,
        *,
        confidence: float | None = None,
        server: str | None = None,
        annotations: dict[str, Any] | None = None,
        session: str | None = None,
        tool_use_id: str | None = None,
        request_id: Any = None,
    ) -> Decision:
        """Decides one tool call (``tool`` with its arguments ``input``); ``confidence`` in [0, 1] selects the
        class's per-action region, without it each class answers with its class-level move."""
        req: dict[str, Any] = {"tool": tool, "input": input or {}}
        for k, v in [
            ("confidence", confidence),
            ("server", server),
            ("annotations", annotations),
            ("session", session),
            ("tool_use_id", tool_use_id),
            ("request_id", request_id),
        ]:
            if v is not None:
                req[k] = v
        d = json.loads(self._gate.decide_json(json.dumps(req)))
        return Decision(
            decision=d["decision"],
            move=d["move"],
            cls=d["class"],
            region=tuple(d["region"]) if d["region"] is not None else None,
            reason=d["reason"],
            confidence=d["confidence"],
            confidence_source=d["confidence_source"],
            id=d["id"],
            request_id=d.get("request_id"),
        )


@dataclass(frozen=True)
class Fit:
    """What :func:`fit` learnt from a decision log: the fit (``cirl fit --json``), and with ``out`` the diff of the
    re-issued card (``diff.json``) and the files written (fit.json, scenario.toml, card/, diff.json, diff.md)."""

    fit: dict[str, Any]
    diff: dict[str, Any] | None
    files: tuple[Path, ...]

    @property
    def classes(self) -> list[dict[str, Any]]:
        """Per class: calls, asks, outcomes, and the posterior of P(bad) and of the loss of a bad call."""
        return self.fit["classes"]

    @property
    def reviewer(self) -> dict[str, Any]:
        """The reviewer's posterior error rates."""
        return self.fit["reviewer"]

    @property
    def drift(self) -> list[dict[str, Any]]:
        """The drift windows (with ``window=``), each with the posteriors that left the earlier windows'."""
        return self.fit["drift"]


def fit(
    log: str | os.PathLike[str],
    scenario: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    *,
    window: str | None = None,
    future_calls: int | None = None,
    reviewer: str = "auto",
    seed: int = 1,
    samples: int = 2000,
    prior_strength: float = 4.0,
    reviewer_strength: float = 10.0,
) -> Fit:
    """Fits a scenario's inputs to a decision log (the gate's SQLite file or JSON Lines), as ``cirl fit LOG
    --scenario SCENARIO [--out OUT] [--window W]``; with ``out``, re-issues the card there."""
    f, d, files = _cirl.fit(
        os.fspath(log),
        os.fspath(scenario),
        None if out is None else os.fspath(out),
        window,
        future_calls,
        reviewer,
        seed,
        samples,
        prior_strength,
        reviewer_strength,
    )
    return Fit(fit=json.loads(f), diff=None if d is None else json.loads(d), files=tuple(Path(p) for p in files))


def import_log(file: str | os.PathLike[str], log: str | os.PathLike[str]) -> dict[str, int]:
    """Adds the calls of a JSON Lines log (schema cirl-log/1) to a decision log, as ``cirl log import FILE --log
    LOG``: the counts of calls added, repeated in the file and already in the log."""
    return json.loads(_cirl.log_import(os.fspath(file), os.fspath(log)))


def export_log(log: str | os.PathLike[str], out: str | os.PathLike[str]) -> int:
    """Writes a decision log's calls as JSON Lines, as ``cirl log export --log LOG --out OUT``; the number of
    calls."""
    return _cirl.log_export(os.fspath(log), os.fspath(out))
