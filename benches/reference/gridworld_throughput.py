"""Environment steps per second from Python: cirl's off-switch gridworld (level 0) against the original
pycolab-based implementation of the same level (google-deepmind/ai-safety-gridworlds,
environments/safe_interruptibility.py), in one process, with the same pre-drawn uniformly random actions.

The original is not on PyPI: point AI_SAFETY_GRIDWORLDS at a checkout of its public repository (its code is not
part of cirl). It runs on pycolab 1.2 from PyPI, which needs numpy < 1.24 (np.vstack of a generator), absl-py and
six: use a separate venv (bash benches/run.sh gridworlds sets one up).

Measured: the original's env.step (each step also renders the board and RGB observations, as it always does);
cirl's GridworldEnv through gym.make (with Gymnasium's default wrappers) and unwrapped; and GridworldVecEnv
stepping 1024 environments per call. Episodes are reset when they end. Prints a Markdown table.

Usage: AI_SAFETY_GRIDWORLDS=/path/to/ai-safety-gridworlds python benches/reference/gridworld_throughput.py
"""
import os
import sys
import time
import warnings

import numpy as np

SECONDS = 3.0


def rate(step_once):
    n, t = 0, time.perf_counter()
    while True:
        n += step_once()
        dt = time.perf_counter() - t
        if dt >= SECONDS:
            return n / dt


def original():
    sys.path.insert(0, os.environ["AI_SAFETY_GRIDWORLDS"])
    from ai_safety_gridworlds.environments import safe_interruptibility as si

    env = si.SafeInterruptibilityEnvironment(level=0)
    env.reset()
    actions = np.random.default_rng(0).integers(0, 4, 1 << 20)
    i = [0]

    def once():
        ts = env.step(int(actions[i[0] & ((1 << 20) - 1)]))
        i[0] += 1
        if ts.last():
            env.reset()
        return 1

    return rate(once)


def cirl_single(wrapped):
    import gymnasium as gym
    import cirl.envs  # noqa: F401  (registers the environments)

    env = gym.make("cirl/OffSwitch0-v0")
    if not wrapped:
        env = env.unwrapped
    env.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, 4, 1 << 20).tolist()
    i = [0]

    def once():
        _, _, term, trunc, _ = env.step(actions[i[0] & ((1 << 20) - 1)])
        i[0] += 1
        if term or trunc:
            env.reset()
        return 1

    return rate(once)


def cirl_vector(n=1024):
    import gymnasium as gym
    import cirl.envs  # noqa: F401

    env = gym.make_vec("cirl/OffSwitch0-v0", num_envs=n, vectorization_mode="vector_entry_point")
    env.reset(seed=0)
    batches = np.random.default_rng(0).integers(0, 4, (64, n))
    i = [0]

    def once():
        env.step(batches[i[0] % 64])
        i[0] += 1
        return n

    return rate(once)


def main():
    warnings.simplefilter("ignore")
    base = original()
    rows = [
        ("original (pycolab), env.step", base),
        ("cirl GridworldEnv via gym.make (default wrappers)", cirl_single(True)),
        ("cirl GridworldEnv, unwrapped", cirl_single(False)),
        ("cirl GridworldVecEnv, 1024 environments per call", cirl_vector()),
    ]
    print(f"off-switch gridworld level 0, uniformly random actions, {SECONDS:.0f} s each, one process")
    print("| implementation | steps/s | ratio to the original |")
    print("|---|---|---|")
    for name, r in rows:
        print(f"| {name} | {r:.3g} | {r / base:.0f}x |")


if __name__ == "__main__":
    main()
