"""Type stubs of the compiled module cirl._cirl (the Rust bindings). Use the wrappers in cirl.* instead."""

import numpy as np
import numpy.typing as npt

__version__: str

class Error(ValueError): ...
class InvalidError(Error): ...
class ConfigError(Error): ...
class CheckError(Error): ...
class FileError(Error): ...
class StoreError(Error): ...
class PlotError(Error): ...

def offswitch_report(
    prior: str, human: str, cost: float = 0.0, mc: int | None = None, seed: int = 1
) -> str: ...
def offswitch_batch(
    prior: str,
    mu: npt.NDArray[np.float64],
    sigma: npt.NDArray[np.float64],
    human: str,
    a: npt.NDArray[np.float64],
    b: npt.NDArray[np.float64],
    cost: npt.NDArray[np.float64],
) -> tuple[
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    npt.NDArray[np.int8],
    npt.NDArray[np.bool_],
]: ...
def run(
    config: str,
    out: str | None = None,
    format: str = "parquet",
    threads: int | None = None,
    resume: bool = False,
    force: bool = False,
    plots: bool = True,
) -> str: ...
def reproduce(
    name: str, out: str | None = None, format: str = "parquet", threads: int | None = None, plots: bool = True
) -> str: ...
def catalogue() -> str: ...
def solve(
    model: str,
    solver: str,
    sets: list[str],
    tolerance: float | None = None,
    simulate: int | None = None,
    seed: int | None = None,
    max_beliefs: int | None = None,
    histories: int = 0,
    policy: str | None = None,
) -> tuple[str, list[str]]: ...
def calibrate(
    scenario: str, out: str | None = None, mc: int = 1_000_000, seed: int = 0, plots: bool = True
) -> tuple[str, list[str]]: ...

class Gate:
    def __init__(self, card: str, log: str | None = None, runtime: str = "python") -> None: ...
    def decide_json(self, request: str) -> str: ...
    @property
    def scenario(self) -> str: ...
    @property
    def card_hash(self) -> str: ...
