"""The off-switch game (Hadfield-Menell et al. 2017): the values of the robot's three moves and its incentive to
defer, Δ = v_wait − max(v_act, v_off).

:func:`values` is ``cirl offswitch --json`` for one game; :func:`evaluate` computes many games at once from NumPy
arrays that broadcast, in parallel on all cores with the GIL released. Both call the same Rust function as the
command line, so they carry its accuracy (closed forms, or quadrature to 1e-10 of the prior's scale for a normal
belief and a Boltzmann human) and its tie rule (moves within 1e-9 × the prior's scale tie; among tied moves the
first of wait, off, act is the decision) — and return the same bits for the same inputs.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from . import _cirl
from ._cirl import InvalidError

#: The moves in the order of the codes of :attr:`Batch.decision`: 0 act, 1 wait (ask), 2 off.
MOVES: tuple[str, str, str] = ("act", "wait", "off")

#: The priors :func:`evaluate` takes, each given by its mean and standard deviation.
PRIORS: tuple[str, ...] = ("normal", "uniform", "two-point")

#: The humans :func:`evaluate` takes, and the parameters each needs.
HUMANS: dict[str, tuple[str, ...]] = {
    "rational": (),
    "boltzmann": ("beta",),
    "p-rational": ("p",),
    "chance": ("p",),
    "error-rates": ("approve_good", "catch_bad"),
}


@dataclass(frozen=True)
class Report:
    """One game's values and decision: the fields of ``cirl offswitch --json``."""

    prior: str
    human: str
    cost: float
    v_act: float
    v_wait: float
    v_off: float
    delta: float
    decision: str
    tie: bool
    tied: tuple[str, ...]
    tie_tol: float
    p_allow: float
    method: str
    #: The rest of the report: Theorem 2's terms (normal belief), the p-rational analysis, the Monte Carlo check.
    extra: dict[str, Any] = field(default_factory=dict)


def values(
    prior: str = "normal:0.25,1",
    human: str = "rational",
    cost: float = 0.0,
    *,
    mc: int | None = None,
    seed: int = 1,
) -> Report:
    """The values of one off-switch game, as ``cirl offswitch --prior PRIOR --human HUMAN --cost COST --json``.

    ``prior`` and ``human`` are the command line's specs (``normal:MU,SIGMA``, ``uniform:LO,HI``,
    ``discrete:V@P,...``, ``two-point:MU,SIGMA``, ``csv:PATH#COLUMN``; ``rational``, ``boltzmann:BETA``,
    ``p-rational:P``, ``chance:P``, ``error-rates:APPROVE,CATCH``). ``mc`` adds a Monte Carlo check with that many
    sampled games (seeded by ``seed``).

    >>> r = values("normal:0.25,1", "boltzmann:0.5")
    >>> r.decision, round(r.delta, 4)
    ('wait', 0.191)
    """
    d = json.loads(_cirl.offswitch_report(prior, human, float(cost), mc, int(seed)))
    keys = Report.__dataclass_fields__.keys() - {"extra"}
    base = {k: d.pop(k) for k in keys}
    base["tied"] = tuple(base["tied"])
    return Report(**base, extra=d)


class Batch(NamedTuple):
    """The values of many games, each array of the broadcast shape of the inputs."""

    v_act: npt.NDArray[np.float64]
    v_wait: npt.NDArray[np.float64]
    v_off: npt.NDArray[np.float64]
    delta: npt.NDArray[np.float64]
    p_allow: npt.NDArray[np.float64]
    #: The best move as a code into :data:`MOVES` (0 act, 1 wait, 2 off).
    decision: npt.NDArray[np.int8]
    #: Whether the best move ties with another within the tie tolerance.
    tie: npt.NDArray[np.bool_]

    def decision_names(self) -> npt.NDArray[np.str_]:
        """The decisions as strings ("act", "wait", "off")."""
        return np.asarray(MOVES)[self.decision]


def _real(name: str, x: Any) -> npt.NDArray[np.float64]:
    a = np.asarray(x)
    if a.dtype.kind not in "iuf":
        raise InvalidError(f"{name}: must be real numbers (an int or float array), got dtype {a.dtype}")
    return a.astype(np.float64, copy=False)


def evaluate(
    mu: npt.ArrayLike,
    sigma: npt.ArrayLike,
    *,
    prior: str = "normal",
    human: str = "boltzmann",
    beta: npt.ArrayLike | None = None,
    p: npt.ArrayLike | None = None,
    approve_good: npt.ArrayLike | None = None,
    catch_bad: npt.ArrayLike | None = None,
    cost: npt.ArrayLike = 0.0,
) -> Batch:
    """The off-switch values of every game in the broadcast of the arguments.

    ``prior`` is ``"normal"`` (N(μ, σ²)), ``"uniform"`` (mean μ, standard deviation σ) or ``"two-point"``
    (μ ± σ); ``human`` one of :data:`HUMANS` with its parameters as arrays (``beta`` for ``"boltzmann"``; ``p``
    for ``"p-rational"`` and ``"chance"``; ``approve_good`` and ``catch_bad`` for ``"error-rates"``). ``mu``,
    ``sigma``, the human's parameters and ``cost`` broadcast together (NumPy's rules); ints and floats of any
    width are taken as float64. Each element equals :func:`values` of the same game bit for bit; the work runs on
    all cores with the GIL released. An invalid element raises :class:`cirl.InvalidError` naming its flat index.

    >>> b = evaluate([0.25, -0.25], [[0.3], [2.0]], beta=0.5)
    >>> b.delta.shape
    (2, 2)
    >>> b.decision_names().tolist()
    [['act', 'off'], ['wait', 'wait']]
    """
    if prior not in PRIORS:
        raise InvalidError(f"prior: '{prior}' is not a vectorizable prior; use one of {', '.join(PRIORS)}")
    if human not in HUMANS:
        raise InvalidError(f"human: '{human}' is not a human model; use one of {', '.join(HUMANS)}")
    given = {"beta": beta, "p": p, "approve_good": approve_good, "catch_bad": catch_bad}
    needs = HUMANS[human]
    for name, value in given.items():
        if name in needs and value is None:
            raise InvalidError(f"{name}: the {human} human needs {name}=")
        if name not in needs and value is not None:
            takes = ", ".join(f"{n}=" for n in needs) or "no parameter"
            raise InvalidError(f"{name}: the {human} human takes {takes}, not {name}=")
    params = [_real(n, given[n]) for n in needs] + [np.zeros(())] * (2 - len(needs))
    try:
        arrays = np.broadcast_arrays(_real("mu", mu), _real("sigma", sigma), *params, _real("cost", cost))
    except ValueError as e:
        raise InvalidError(f"mu, sigma, {', '.join(needs + ('cost',))}: the shapes do not broadcast ({e})") from None
    shape = arrays[0].shape
    flat = [np.ascontiguousarray(a).reshape(-1) for a in arrays]
    m, s, a, b, c = flat
    v_act, v_wait, delta, p_allow, decision, tie = _cirl.offswitch_batch(prior, m, s, human, a, b, c)
    return Batch(
        v_act=v_act.reshape(shape),
        v_wait=v_wait.reshape(shape),
        v_off=np.zeros(shape),
        delta=delta.reshape(shape),
        p_allow=p_allow.reshape(shape),
        decision=decision.reshape(shape),
        tie=tie.reshape(shape),
    )


def posg(
    file: str | os.PathLike[str], *, heuristic: bool = False, restarts: int = 64, seed: int = 0
) -> dict[str, Any]:
    """A partially observable off-switch game (Garber et al. 2025; ``kind = "po-osg"`` files) solved as
    ``cirl posg FILE --json``: the value and an optimal policy pair, by exact enumeration or (``heuristic``) local
    search from ``restarts`` random starts. A game with ``assistant_moves`` including ``"wait-hide"`` or a
    ``boltzmann:β`` human (Emmons et al. 2025) is solved exactly by the interference solver: its value, the value
    without interference and the range of P(interfere) over the optimal assistant policies."""
    return json.loads(_cirl.posg(os.fspath(file), heuristic, restarts, seed))
