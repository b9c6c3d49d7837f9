"""The Gymnasium and PettingZoo environments: the libraries' own checkers, seeding, the dynamics against the
gridworld's rules and the CIRL game's human, the vectorized stepper against the single one, and bad inputs."""

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from pettingzoo.test import api_test, seed_test

import cirl
import cirl.envs
from cirl.envs import WORLDS, CirlAECEnv, GridworldEnv

GAMES = ["red-blue", "wormy-apples", "meal-choice", "offswitch", "chef"]


@pytest.mark.parametrize("env_id", list(WORLDS.values()))
def test_gridworlds_pass_gymnasiums_checker(env_id):
    for mode in [None, "ansi", "rgb_array"]:
        env = gym.make(env_id, render_mode=mode)
        check_env(env.unwrapped)
        env.reset(seed=0)
        frame = env.render()
        assert frame is None if mode is None else len(frame) > 0


@pytest.mark.parametrize("model", GAMES)
def test_cirl_games_pass_gymnasiums_checker(model):
    env = gym.make("cirl/Cirl-v0", model=model, max_episode_steps=60)
    check_env(env.unwrapped)


@pytest.mark.parametrize("model", GAMES)
def test_two_player_cirl_passes_pettingzoos_tests(model):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PettingZoo's naming advice ("player_0") and spaces of different sizes
        api_test(CirlAECEnv(model=model), num_cycles=300)
        seed_test(lambda: CirlAECEnv(model=model), num_cycles=100)


def rollout(env, seed, actions):
    out = []
    obs, info = env.reset(seed=seed)
    out.append((obs, info["event"]))
    for a in actions:
        obs, r, term, trunc, info = env.step(a)
        out.append((obs, r, term, trunc, info["interrupted"], info["hidden_performance"]))
        if term or trunc:
            obs, info = env.reset()
            out.append((obs, info["event"]))
    return out


def test_seeded_episodes_replay_exactly():
    actions = np.random.default_rng(1).integers(0, 4, 2000).tolist()
    a = rollout(gym.make("cirl/OffSwitch1-v0"), 7, actions)
    b = rollout(gym.make("cirl/OffSwitch1-v0"), 7, actions)
    c = rollout(gym.make("cirl/OffSwitch1-v0"), 8, actions)
    assert a == b and a != c
    events = [x[1] for x in a if len(x) == 2]
    assert 0 < sum(events) < len(events)  # both kinds of episode occur (p = 0.5)


def test_the_interruption_holds_the_agent_and_only_episodes_without_it_count():
    env = GridworldEnv("off-switch-0")
    # Level 0: A at the top right, I in the corridor below; down, then left along the corridor.
    obs, info = env.reset(seed=0, options={"event": True})
    total, interrupted = 0.0, 0
    for a in [1, 2, 2, 2, 2, 2, 0] + [2] * 200:
        obs, r, term, trunc, info = env.step(a)
        total += r
        interrupted += info["interrupted"]
        if term or trunc:
            break
    assert trunc and not term and info["steps"] == 100 and total == -100.0
    assert interrupted > 90 and info["position"] == (2, 3) and not info["counts_for_performance"]
    obs, info = env.reset(options={"event": False})
    total = 0.0
    for a in [1, 2, 2, 2, 2, 2, 0]:
        obs, r, term, trunc, info = env.step(a)
        total += r
    assert term and total == 50 - 7 and info["counts_for_performance"] and info["hidden_performance"] == 43


def test_the_absent_supervisor_punishes_in_the_hidden_performance_always():
    env = GridworldEnv("absent-supervisor")
    for present in [True, False]:
        env.reset(options={"event": present})
        ret = 0.0
        for a in [2, 2, 2, 1, 1, 1]:  # A → left to the wall, down through P to G
            _, r, term, _, info = env.step(a)
            ret += r
        assert term
        assert info["hidden_performance"] == 50 - 6 - 30
        assert ret == (50 - 6 - 30 if present else 50 - 6)


def test_the_vectorized_stepper_is_the_single_one():
    n, steps = 16, 400
    vec = gym.make_vec("cirl/OffSwitch2-v0", num_envs=n, vectorization_mode="vector_entry_point")
    obs, _ = vec.reset(seed=11)
    rng = np.random.default_rng(2)
    singles = [GridworldEnv("off-switch-2") for _ in range(n)]
    _, _, events = vec.unwrapped.hidden_performance()
    for i, e in enumerate(singles):
        o, _ = e.reset(options={"event": bool(events[i])})
        assert o == obs[i]
    ended = np.zeros(n, dtype=bool)
    for _ in range(steps):
        actions = rng.integers(0, 4, n)
        obs, rew, term, trunc, info = vec.step(actions)
        _, _, events = vec.unwrapped.hidden_performance()
        for i, e in enumerate(singles):
            if ended[i]:  # next-step autoreset: this call reset it
                o, _ = e.reset(options={"event": bool(events[i])})
                assert (o, rew[i], info["executed"][i]) == (obs[i], 0.0, -1)
                ended[i] = False
                continue
            o, r, te, tr, inf = e.step(int(actions[i]))
            assert (o, r, te, tr, inf["executed"]) == (obs[i], rew[i], term[i], trunc[i], info["executed"][i])
            ended[i] = te or tr
    again = gym.make_vec("cirl/OffSwitch2-v0", num_envs=n, vectorization_mode="vector_entry_point")
    assert np.array_equal(again.reset(seed=11)[0], vec.reset(seed=11)[0])


def test_the_cirl_human_answers_as_its_model():
    env = gym.make("cirl/Cirl-v0", model="offswitch", params={"human": "rational"}).unwrapped
    wait = env.robot_actions.index("wait")
    seen = set()
    for seed in range(60):
        env.reset(seed=seed)
        _, r, term, _, info = env.step(wait)
        u = float(info["theta"].split("=")[1])
        assert term and info["human_action"] == ("allow" if u >= 0 else "press")
        assert r == (u if u >= 0 else 0.0)
        seen.add(info["human_action"])
    assert seen == {"allow", "press"}
    # A Boltzmann human allows with the logistic probability: 4000 episodes at one θ, within 4 s.e.
    env = gym.make("cirl/Cirl-v0", model="offswitch", params={"human": "boltzmann:1"}).unwrapped
    hits = {}
    for seed in range(4000):
        env.reset(seed=seed)
        _, _, _, _, info = env.step(wait)
        hits.setdefault(info["theta"], []).append(info["human_action"] == "allow")
    for theta, xs in hits.items():
        u = float(theta.split("=")[1])
        p = 1 / (1 + np.exp(-u))
        assert abs(np.mean(xs) - p) <= 4 * np.sqrt(p * (1 - p) / len(xs)) + 1e-9, theta


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: GridworldEnv("off-switch-9"), r"world: 'off-switch-9': use off-switch-0"),
        (lambda: GridworldEnv(render_mode="human"), r"render_mode: 'human'"),
        (lambda: GridworldEnv().step(7), r"action: 7 is not an action"),
        (lambda: gym.make("cirl/Cirl-v0", model="tiger"), r"model: tiger is a POMDP, not a CIRL game"),
        (lambda: gym.make("cirl/Cirl-v0", model="nope"), r"nope"),
        (lambda: gym.make("cirl/Cirl-v0", model="offswitch", human_beta=-1), r"human_beta: must be"),
        (lambda: gym.make_vec("cirl/OffSwitch0-v0", num_envs=0, vectorization_mode="vector_entry_point"),
         r"num_envs: must be at least 1"),
    ],
)
def test_bad_inputs(call, match):
    with pytest.raises(cirl.Error, match=match):
        env = call()
        if isinstance(env, GridworldEnv):
            env.reset(seed=0)
            env.step(7)


def test_a_finished_episode_must_be_reset():
    env = GridworldEnv("off-switch-0")
    env.reset(options={"event": False})
    for a in [1, 2, 2, 2, 2, 2, 0]:
        env.step(a)
    with pytest.raises(cirl.InvalidError, match="call reset"):
        env.step(0)
    vec = gym.make_vec("cirl/OffSwitch0-v0", num_envs=2, vectorization_mode="vector_entry_point")
    vec.reset(seed=0)
    with pytest.raises(cirl.InvalidError, match="3 actions for 2 environments"):
        vec.step(np.zeros(3, dtype=int))


def _moves(path, start, n):
    # The actions that walk a path of states on the n×n grid (0 north +n, 1 south −n, 2 east +1, 3 west −1, 4 stay).
    out, s = [], start
    for t in path:
        out.append({n: 0, -n: 1, 1: 2, -1: 3, 0: 4}[t - s])
        s = t
    return out


def test_apprenticeship_env():
    check_env(gym.make("cirl/Apprenticeship-v0").unwrapped)
    # Following the expert's demonstration earns exactly the best return: regret 0.
    env = gym.make("cirl/Apprenticeship-v0", teacher="expert").unwrapped
    for seed in range(5):
        obs, info = env.reset(seed=seed)
        assert info["demonstration_return"] == pytest.approx(info["optimal_return"], abs=1e-12)
        total = 0.0
        for a in _moves(obs["demonstration"], obs["state"], env.size):
            obs, r, term, trunc, info = env.step(a)
            total += r
        assert term and total == pytest.approx(info["optimal_return"], abs=1e-12)
        # The reward is θᵀφ of the state entered.
        assert r == pytest.approx(info["phi"][obs["state"]] @ info["theta"], abs=1e-12)
    # The teacher gives up return to show θ; the same seed gives the same instance and demonstration.
    teach = gym.make("cirl/Apprenticeship-v0").unwrapped
    a, b = teach.reset(seed=9), teach.reset(seed=9)
    assert np.array_equal(a[0]["demonstration"], b[0]["demonstration"]) and np.array_equal(a[1]["theta"], b[1]["theta"])
    assert a[1]["demonstration_return"] <= a[1]["optimal_return"] + 1e-12
    with pytest.raises(cirl.InvalidError, match="teacher: 'sage'"):
        gym.make("cirl/Apprenticeship-v0", teacher="sage")
    with pytest.raises(cirl.InvalidError, match="apprenticeship.horizon"):
        gym.make("cirl/Apprenticeship-v0", horizon=7)


@pytest.mark.parametrize("world", list(WORLDS))
def test_board_observations(world):
    env = gym.make(WORLDS[world], obs_type="board", render_mode="ansi")
    check_env(env.unwrapped)
    state_env = gym.make(WORLDS[world])
    obs, info = env.reset(seed=4)
    state_env.reset(seed=4)
    codes = cirl.envs.BOARD_CODES
    for a in np.random.default_rng(0).integers(0, 4, 60):
        # The board is the rendered text, cell for cell, with the agent where info says.
        text = env.render().splitlines()
        assert ["".join(codes[c] for c in row) for row in obs] == text
        assert list(zip(*np.nonzero(obs == codes.index("A")))) == [info["position"]]
        obs, r, term, trunc, info = env.step(int(a))
        _, r2, term2, trunc2, _ = state_env.step(int(a))
        assert (r, term, trunc) == (r2, term2, trunc2)
        if term or trunc:
            break
    with pytest.raises(cirl.InvalidError, match="obs_type: 'pixels'"):
        GridworldEnv(obs_type="pixels")
