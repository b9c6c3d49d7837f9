"""cirl from Python: the games behind human–agent deference (CIRL, the off-switch game).

The Rust library is the one implementation; this package is a thin, typed layer over it.

- :mod:`cirl.offswitch` — the values of one off-switch game, and vectorized evaluation over NumPy arrays.
- :func:`run`, :func:`reproduce` — experiments and paper results, with their tables as DataFrames (via Arrow).
- :func:`solve`, :func:`calibrate`, :class:`Gate` — CIRL games and POMDPs; a scenario's policy card; its gate.
- :func:`fit`, :func:`import_log`, :func:`export_log` — learning a card's inputs from its decision log.
- :mod:`cirl.envs` — Gymnasium and PettingZoo environments.

Every error is a :class:`cirl.Error` (a :class:`ValueError`) carrying the command line's one-line message.
"""

from ._cirl import (
    CheckError,
    ConfigError,
    Error,
    FileError,
    InvalidError,
    PlotError,
    StoreError,
    __version__,
)
from . import offswitch
from .agents import Card, Decision, Fit, Gate, calibrate, export_log, fit, import_log, solve
from .runs import Check, Run, models, reproduce, reproductions, run

__all__ = [
    "Card",
    "Check",
    "CheckError",
    "Decision",
    "Fit",
    "Gate",
    "Run",
    "calibrate",
    "export_log",
    "fit",
    "import_log",
    "models",
    "reproduce",
    "reproductions",
    "run",
    "solve",
    "ConfigError",
    "Error",
    "FileError",
    "InvalidError",
    "PlotError",
    "StoreError",
    "__version__",
    "offswitch",
]
