"""cirl.offswitch against the command line (bit for bit), broadcasting, dtypes, bad inputs and the GIL."""

import json
import threading

import numpy as np
import pytest

import cirl
from cirl.offswitch import MOVES, evaluate, values

GAMES = [
    ("normal:0.25,1", "boltzmann:0.5", 0.0),
    ("normal:0.25,0.5", "boltzmann:0.5", 0.0),  # on the boundary σ² = 2|μ|β: a tie
    ("normal:-0.3,0.2", "rational", 0.05),
    ("normal:1e6,3e5", "boltzmann:2e4", 0.0),
    ("normal:0.1,0", "boltzmann:1", 0.0),
    ("uniform:-1,2", "boltzmann:0.7", 0.1),
    ("discrete:-1@0.3,2@0.7", "p-rational:0.8", 0.0),
    ("two-point:0.2,1", "chance:0.6", 0.01),
    ("normal:0,1", "error-rates:0.93,0.4", 0.0),
    ("normal:0.05,30", "boltzmann:0.001", 0.0),
]


@pytest.mark.parametrize("prior,human,cost", GAMES)
def test_values_are_the_clis_json_to_the_last_bit(cli, prior, human, cost):
    want = json.loads(cli("offswitch", "--prior", prior, "--human", human, "--cost", repr(cost), "--json"))
    got = values(prior, human, cost)
    assert got.decision == want.pop("decision")
    assert list(got.tied) == want.pop("tied")
    for k, v in want.items():
        have = getattr(got, k) if k in got.__dataclass_fields__ else got.extra[k]
        assert have == v, k  # exact: JSON floats are printed shortest round-trip


def test_the_monte_carlo_check_is_the_clis(cli):
    want = json.loads(cli("offswitch", "--prior", "normal:0.2,1", "--human", "boltzmann:0.3", "--mc", "20000",
                          "--seed", "7", "--json"))
    got = values("normal:0.2,1", "boltzmann:0.3", mc=20000, seed=7)
    assert got.extra["monte_carlo"] == want["monte_carlo"]


def _spec(kind: str, mu: float, sigma: float) -> str:
    return f"{kind}:{mu!r},{sigma!r}" if kind != "uniform" else f"uniform:{mu - sigma * 3**0.5!r},{mu + sigma * 3**0.5!r}"


@pytest.mark.parametrize(
    "human,params,spec",
    [
        ("boltzmann", {"beta": [0.0, 0.05, 0.5, 3.0]}, lambda k: f"boltzmann:{k['beta']!r}"),
        ("rational", {}, lambda k: "rational"),
        ("p-rational", {"p": [0.5, 0.9, 1.0]}, lambda k: f"p-rational:{k['p']!r}"),
        ("chance", {"p": [0.2, 0.7]}, lambda k: f"chance:{k['p']!r}"),
        ("error-rates", {"approve_good": [0.93, 1.0], "catch_bad": [0.4, 0.0]},
         lambda k: f"error-rates:{k['approve_good']!r},{k['catch_bad']!r}"),
    ],
)
def test_each_element_equals_the_one_game_values(human, params, spec):
    mu = np.array([-1.5, -0.25, 0.0, 0.25, 2.0])
    sigma = np.array([0.0, 0.3, 1.0, 4.0])[:, None]
    cols = [np.asarray(v) for v in params.values()]
    # the human's parameters vary along a third axis (zipped when there are two)
    extra = {k: np.asarray(v)[:, None, None] for k, v in params.items()}
    b = evaluate(mu, sigma, human=human, cost=0.01, **extra)
    n = len(cols[0]) if cols else 1
    assert b.delta.shape == ((n, 4, 5) if cols else (4, 5))
    for idx in np.ndindex(b.delta.shape):
        k = {name: float(np.asarray(v)[idx[0]]) for name, v in params.items()}
        j, i = idx[-2], idx[-1]
        r = values(f"normal:{float(mu[i])!r},{float(sigma[j, 0])!r}", spec(k), 0.01)
        assert (b.v_act[idx], b.v_wait[idx], b.delta[idx], b.p_allow[idx]) == (r.v_act, r.v_wait, r.delta, r.p_allow)
        assert (MOVES[b.decision[idx]], bool(b.tie[idx])) == (r.decision, r.tie)


@pytest.mark.parametrize("prior", ["uniform", "two-point"])
def test_other_priors_by_mean_and_sd(prior):
    b = evaluate([0.3, -0.2], 0.8, prior=prior, beta=0.4)
    for i, m in enumerate([0.3, -0.2]):
        spec = f"two-point:{m!r},0.8" if prior == "two-point" else None
        if spec is None:
            h = 0.8 * 3**0.5
            spec = f"uniform:{m - h!r},{m + h!r}"
        r = values(spec, "boltzmann:0.4")
        assert b.delta[i] == pytest.approx(r.delta, abs=1e-15)
        assert MOVES[b.decision[i]] == r.decision


def test_shapes_and_dtypes():
    assert evaluate(0.25, 1.0, beta=0.5).delta.shape == ()
    assert evaluate(np.zeros((0,)), 1.0, beta=0.5).delta.shape == (0,)
    assert evaluate(np.zeros((3, 0)), 1.0, beta=0.5).decision.shape == (3, 0)
    ints = evaluate(np.array([0, 1, -2]), np.array([1, 2, 3], dtype=np.int8), beta=np.uint16(1))
    floats = evaluate([0.0, 1.0, -2.0], [1.0, 2.0, 3.0], beta=1.0)
    assert all(np.array_equal(x, y) for x, y in zip(ints, floats))
    f32 = evaluate(np.float32(0.1), 1.0, beta=0.5)
    assert f32.delta == evaluate(float(np.float32(0.1)), 1.0, beta=0.5).delta
    b = evaluate([[0.2, 0.4]], [[1.0], [2.0], [3.0]], beta=[[0.5, 1.0]], cost=[[0.0], [0.1], [0.0]])
    assert b.delta.shape == b.decision.shape == b.tie.shape == b.v_off.shape == (3, 2)
    assert b.decision.dtype == np.int8 and b.tie.dtype == np.bool_ and b.delta.dtype == np.float64
    # non-contiguous views are fine
    big = np.linspace(-1, 1, 20)[::2]
    assert np.array_equal(evaluate(big, 1.0, beta=0.5).delta, evaluate(big.copy(), 1.0, beta=0.5).delta)


def test_extremes_give_finite_values_or_an_error():
    b = evaluate([1e150, -1e150, 0.0], [1e150, 1e-300, 1e150], beta=[1e-300, 1e300, 0.5])
    assert np.isfinite(b.delta).all() and np.isfinite(b.v_wait).all()
    huge = evaluate(1e308, 1e308, beta=1.0)
    assert np.isfinite(huge.v_wait) and huge.decision == MOVES.index("wait")
    with pytest.raises(cirl.InvalidError, match=r"prior.sigma at index 1: a uniform belief .* rescale U"):
        evaluate(0.0, [1.0, 1e308], prior="uniform", beta=1.0)


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: evaluate([0.1, 0.2], [1.0, -1.0], beta=0.5), r"prior.sigma at index 1: must be >= 0"),
        (lambda: evaluate(np.nan, 1.0, beta=0.5), r"prior.mu at index 0"),
        (lambda: evaluate(0.1, 1.0, beta=-1.0), r"human.beta at index 0: must be >= 0"),
        (lambda: evaluate(0.1, 1.0, human="p-rational", p=1.5), r"human.p at index 0"),
        (lambda: evaluate(0.1, 1.0, beta=0.5, cost=-0.1), r"cost at index 0"),
        (lambda: evaluate(0.1, 1.0), r"beta: the boltzmann human needs beta="),
        (lambda: evaluate(0.1, 1.0, beta=0.5, p=0.3), r"p: the boltzmann human takes beta=, not p="),
        (lambda: evaluate(0.1, 1.0, human="rational", beta=0.3), r"takes no parameter"),
        (lambda: evaluate(0.1, 1.0, human="wise", beta=0.3), r"human: 'wise' is not a human model"),
        (lambda: evaluate(0.1, 1.0, prior="cauchy", beta=0.3), r"prior: 'cauchy' is not a vectorizable prior"),
        (lambda: evaluate([1j], 1.0, beta=0.3), r"mu: must be real numbers .* complex128"),
        (lambda: evaluate(["a"], 1.0, beta=0.3), r"mu: must be real numbers"),
        (lambda: evaluate([True], 1.0, beta=0.3), r"mu: must be real numbers .* bool"),
        (lambda: evaluate([1.0, 2.0], [1.0, 2.0, 3.0], beta=0.3), r"the shapes do not broadcast"),
        (lambda: values("normal:0,-1", "rational"), r"prior.sigma: must be >= 0"),
        (lambda: values("normal:0,1", "boltzmann:x"), r"'x' is not a number"),
        (lambda: values("normal:0,1", "rational", -1.0), r"cost: the cost of asking must be"),
    ],
)
def test_bad_inputs_raise_one_line_value_errors(call, match):
    with pytest.raises(cirl.InvalidError, match=match) as e:
        call()
    assert isinstance(e.value, ValueError) and isinstance(e.value, cirl.Error)
    assert "\n" not in str(e.value)


def test_the_gil_is_released_while_it_computes():
    mu = np.linspace(-2, 2, 400_000)
    done = threading.Event()
    ticks = 0

    def work():
        evaluate(mu, 1.0, beta=0.7)
        done.set()

    t = threading.Thread(target=work)
    t.start()
    while not done.is_set():
        ticks += 1
    t.join()
    # With the GIL held for the whole call this loop would barely run (a switch interval at most).
    assert ticks > 1000
