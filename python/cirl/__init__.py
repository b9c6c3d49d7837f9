"""cirl from Python: the games behind human–agent deference (CIRL, the off-switch game).

The Rust library is the one implementation; this package is a thin, typed layer over it.

- :mod:`cirl.offswitch` — the values of one off-switch game, and vectorized evaluation over NumPy arrays.

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

__all__ = [
    "CheckError",
    "ConfigError",
    "Error",
    "FileError",
    "InvalidError",
    "PlotError",
    "StoreError",
    "__version__",
    "offswitch",
]
