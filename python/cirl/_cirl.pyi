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
