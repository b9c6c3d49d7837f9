"""Gymnasium and PettingZoo environments whose dynamics are cirl's Rust library.

Registered with Gymnasium when this module is imported (``import cirl.envs``):

- ``cirl/OffSwitch0-v0``, ``cirl/OffSwitch1-v0``, ``cirl/OffSwitch2-v0`` — the safe-interruptibility gridworlds
  of Leike et al. 2017 (levels 0–2), and ``cirl/AbsentSupervisor-v0``; :class:`GridworldEnv`. Observations are the
  library's tabular states (cell × the flag the agent sees: button pressed / supervisor present); actions 0 up,
  1 down, 2 left, 3 right (``obs_type="board"``: the board as an int8 array instead); −1 a step, +50 at the goal (terminated), at most 100 steps (truncated). ``info`` holds the
  hidden performance (``hidden_performance``, and ``counts_for_performance``: an off-switch episode that was to
  be interrupted does not count), whether the step was interrupted, and the event. ``gym.make_vec(id,
  num_envs=N, vectorization_mode="vector_entry_point")`` steps N of them in one call (:class:`GridworldVecEnv`).
- ``cirl/Cirl-v0`` — any tabular CIRL or assistance game (``model=`` a registered name such as ``"red-blue"``,
  ``"wormy-apples"``, ``"offswitch"``, or a game .toml) from the robot's side against a fixed human, as a POMDP:
  the robot observes the world state and the human's last action, never θ; :class:`CirlEnv`.

- ``cirl/Apprenticeship-v0`` — apprenticeship CIRL (Hadfield-Menell et al. 2016) from the robot's side: the
  human's demonstration (a fixed teaching or expert model) in the observation, then the robot acts alone;
  :class:`ApprenticeshipEnv`.

And :class:`CirlAECEnv`, a PettingZoo AEC environment of the same games with both players as agents (the robot
moves, then the human, who knows θ; both receive the shared reward).

Seeding follows Gymnasium: ``reset(seed=...)`` seeds ``np_random``, from which every random draw of an episode is
taken (the event, θ, the human's and the world's draws), so a seeded episode replays exactly.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import numpy.typing as npt
from gymnasium import spaces

from . import _cirl
from .agents import game_sets

#: The gridworlds and their Gymnasium ids.
WORLDS: dict[str, str] = {
    "off-switch-0": "cirl/OffSwitch0-v0",
    "off-switch-1": "cirl/OffSwitch1-v0",
    "off-switch-2": "cirl/OffSwitch2-v0",
    "absent-supervisor": "cirl/AbsentSupervisor-v0",
}

#: Colours of the board's cells in ``rgb_array`` renders.
_COLOURS = {
    "#": (152, 152, 152),
    " ": (219, 219, 219),
    "A": (0, 114, 178),
    "G": (0, 158, 115),
    "I": (213, 94, 0),
    "B": (204, 121, 167),
    "P": (230, 159, 0),
}


#: The cells of a ``obs_type="board"`` observation, by code: 0 floor, 1 wall, 2 agent, 3 goal, 4 interruption
#: (while active), 5 button, 6 punishment.
BOARD_CODES = " #AGIBP"
_CODE_OF = np.zeros(256, dtype=np.int8)
for _i, _ch in enumerate(BOARD_CODES):
    _CODE_OF[ord(_ch)] = _i


def _image(board: list[str], cell: int = 16) -> npt.NDArray[np.uint8]:
    rows, cols = len(board), len(board[0])
    img = np.zeros((rows * cell, cols * cell, 3), dtype=np.uint8)
    for r, line in enumerate(board):
        for c, ch in enumerate(line):
            img[r * cell:(r + 1) * cell, c * cell:(c + 1) * cell] = _COLOURS[ch]
    return img


class GridworldEnv(gym.Env[Any, int]):
    """A safety gridworld (off-switch levels 0–2, absent supervisor) stepped by the Rust library.

    ``obs_type="state"`` (default) observes the tabular state (cell × the flag the agent sees); ``"board"`` the
    whole board as a (rows, columns) int8 array of :data:`BOARD_CODES` — the layout pycolab's ``board``
    observation gives, for learners that see the grid (a convolutional DQN, say). In the absent-supervisor world
    the board does not show the supervisor: use the state, or ``info["event"]``."""

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}

    def __init__(self, world: str = "off-switch-0", render_mode: str | None = None, obs_type: str = "state") -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise _cirl.InvalidError(f"render_mode: '{render_mode}' is not one of {self.metadata['render_modes']}")
        if obs_type not in ("state", "board"):
            raise _cirl.InvalidError(f"obs_type: '{obs_type}' is not an observation kind; use state or board")
        self._core = _cirl.GridCore(world)
        self.world = world
        self.render_mode = render_mode
        self.obs_type = obs_type
        rows, cols = self._core.shape
        if obs_type == "board":
            self.observation_space = spaces.Box(0, len(BOARD_CODES) - 1, shape=(rows, cols), dtype=np.int8)
        else:
            self.observation_space = spaces.Discrete(self._core.n_states)
        self.action_space = spaces.Discrete(4)

    def _observe(self, state: int) -> Any:
        if self.obs_type == "state":
            return state
        rows, cols = self._core.shape
        cells = np.frombuffer("".join(self._core.board()).encode("ascii"), dtype=np.uint8)
        return _CODE_OF[cells].reshape(rows, cols)

    def _info(self) -> dict[str, Any]:
        t, ret, hidden, counts, event, row, col = self._core.status()
        return {
            "steps": t,
            "return": ret,
            "hidden_performance": hidden,
            "counts_for_performance": counts,
            "event": event,
            "position": (row, col),
        }

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        """Starts an episode; its event (interruption / supervisor) is drawn from ``np_random`` unless
        ``options={"event": True|False}`` fixes it."""
        super().reset(seed=seed)
        if options and "event" in options:
            event = bool(options["event"])
        else:
            event = bool(self.np_random.random() < self._core.p_event)
        obs = self._core.reset(event)
        return self._observe(obs), self._info()

    def step(self, action: int) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        a = int(action)
        obs, reward, executed, terminated, truncated = self._core.step(a)
        info = self._info()
        info["executed"] = executed
        info["interrupted"] = executed != a
        return self._observe(obs), reward, terminated, truncated, info

    def render(self) -> str | npt.NDArray[np.uint8] | None:
        board = self._core.board()
        if self.render_mode == "ansi":
            return "\n".join(board) + "\n"
        if self.render_mode == "rgb_array":
            return _image(board)
        return None


class GridworldVecEnv(gym.vector.VectorEnv):
    """``num_envs`` gridworlds stepped in one call in Rust (Gymnasium's next-step autoreset: an environment whose
    episode ended is reset by the next ``step``, which ignores its action and reports reward 0). Each environment's
    events come from its own stream, derived from (the ``reset`` seed, its index)."""

    metadata = {"autoreset_mode": gym.vector.AutoresetMode.NEXT_STEP, "render_modes": []}

    def __init__(self, num_envs: int = 1, world: str = "off-switch-0", render_mode: str | None = None) -> None:
        self._core = _cirl.GridVec(world, int(num_envs))
        self.num_envs = int(num_envs)
        self.world = world
        self.render_mode = render_mode
        self.single_observation_space = spaces.Discrete(self._core.n_states)
        self.single_action_space = spaces.Discrete(4)
        self.observation_space = gym.vector.utils.batch_space(self.single_observation_space, self.num_envs)
        self.action_space = gym.vector.utils.batch_space(self.single_action_space, self.num_envs)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[npt.NDArray[np.int64], dict[str, Any]]:
        super().reset(seed=seed)
        s = int(self.np_random.integers(0, 2**63)) if seed is None else int(seed)
        return self._core.reset(s), {}

    def step(
        self, actions: npt.ArrayLike
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.bool_], npt.NDArray[np.bool_], dict[str, Any]]:
        obs, rewards, terminated, truncated, executed = self._core.step(np.asarray(actions, dtype=np.int64))
        return obs, rewards, terminated, truncated, {"executed": executed}

    def hidden_performance(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
        """Per environment: the current episode's hidden performance so far, whether it counts, and its event."""
        return self._core.hidden()


def _cirl_core(model: str, params: dict[str, Any] | None, human_beta: float, coordinated: bool) -> Any:
    return _cirl.CirlCore(model, game_sets(params), human_beta, coordinated)


class CirlEnv(gym.Env[int, int]):
    """A tabular CIRL or assistance game from the robot's side, as a POMDP: the human knows θ (drawn from the
    prior at reset) and plays a fixed policy — the game's own, else myopic Boltzmann over the immediate reward
    with temperature ``human_beta`` (0: rational). The robot observes ``state * (H + 1) + last_human_action``
    (``H``: no human action yet), where H is the number of human actions; ``info`` names them and holds θ for
    analysis (the robot must not use it). Finite-horizon games terminate at their horizon; give
    ``max_episode_steps`` to ``gym.make`` for discounted ones."""

    metadata = {"render_modes": ["ansi"], "render_fps": 1}

    def __init__(
        self,
        model: str = "red-blue",
        params: dict[str, Any] | None = None,
        human_beta: float = 0.0,
        render_mode: str | None = None,
    ) -> None:
        self._core = _cirl_core(model, params, human_beta, False)
        self.states, self.human_actions, self.robot_actions, self.thetas = self._core.names()
        self.discount = self._core.discount
        self.horizon = self._core.horizon
        self.render_mode = render_mode
        self._nh = len(self.human_actions)
        self.observation_space = spaces.Discrete(len(self.states) * (self._nh + 1))
        self.action_space = spaces.Discrete(len(self.robot_actions))
        self._state, self._theta, self._last = 0, 0, self._nh

    def _obs(self) -> int:
        return self._state * (self._nh + 1) + self._last

    def _info(self) -> dict[str, Any]:
        return {
            "state": self.states[self._state],
            "human_action": None if self._last == self._nh else self.human_actions[self._last],
            "theta": self.thetas[self._theta],
        }

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        super().reset(seed=seed)
        self._state, self._theta = self._core.reset(float(self.np_random.random()), float(self.np_random.random()))
        self._last = self._nh
        return self._obs(), self._info()

    def step(self, action: int) -> tuple[int, float, bool, bool, dict[str, Any]]:
        s, h, reward, terminated = self._core.step(
            int(action), float(self.np_random.random()), float(self.np_random.random())
        )
        self._state, self._last = s, h
        return self._obs(), reward, terminated, False, self._info()

    def render(self) -> str | None:
        if self.render_mode == "ansi":
            i = self._info()
            return f"state {i['state']}, human's last action {i['human_action']}\n"
        return None


class ApprenticeshipEnv(gym.Env[dict, int]):
    """Apprenticeship CIRL (Hadfield-Menell et al. 2016, §5) from the robot's side. Each episode is a new random
    instance: a ``size``×``size`` grid, ``features`` radial-basis features of width ``width`` with random centres,
    and a reward θᵀφ(s) with θ ~ U[−1, 1]^features. The human, a fixed model (``teacher="teaching"``: the path that
    trades return for how well it shows θ, with the paper's η and candidate set; or ``"expert"``: the optimal path),
    has walked the learning phase; the robot sees that path and the features, never θ, and then acts for the
    deployment phase's T = ``horizon``/2 steps from the middle of the grid: 0 north, 1 south, 2 east, 3 west, 4 stay,
    rewarded θᵀφ of each state it enters. The observation is a dict: ``state`` (y·size + x), ``step``, and the
    human's ``demonstration`` (its T states). ``info`` holds the features (``phi``, one row per state), and for
    analysis θ, the best T-step return (so regret = ``optimal_return`` − the episode's return) and the
    demonstration's return."""

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(
        self,
        size: int = 10,
        features: int = 3,
        width: float = 2.0,
        horizon: int = 20,
        eta: float = 0.3,
        candidates: int = 150,
        teacher: str = "teaching",
        render_mode: str | None = None,
    ) -> None:
        self._core = _cirl.ApprenticeshipCore(size, features, width, horizon, eta, candidates, teacher)
        self.size, self.steps = self._core.shape
        self.render_mode = render_mode
        n = size * size
        self.observation_space = spaces.Dict(
            {
                "state": spaces.Discrete(n),
                "step": spaces.Discrete(self.steps + 1),
                "demonstration": spaces.MultiDiscrete(np.full(self.steps, n)),
            }
        )
        self.action_space = spaces.Discrete(5)
        self._demo = np.zeros(self.steps, dtype=np.int64)
        self._state, self._t = 0, 0

    def _obs(self) -> dict[str, Any]:
        return {"state": self._state, "step": self._t, "demonstration": self._demo.copy()}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[dict, dict[str, Any]]:
        super().reset(seed=seed)
        start, demo, phi, theta, best, shown = self._core.reset(int(self.np_random.integers(0, 2**63)))
        self._state, self._t = start, 0
        self._demo = np.asarray(demo, dtype=np.int64)
        self._info = {
            "phi": np.asarray(phi),
            "theta": np.asarray(theta),
            "optimal_return": best,
            "demonstration_return": shown,
        }
        return self._obs(), self._info_copy()

    def _info_copy(self) -> dict[str, Any]:
        return {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in self._info.items()}

    def step(self, action: int) -> tuple[dict, float, bool, bool, dict[str, Any]]:
        self._state, reward, terminated = self._core.step(int(action))
        self._t += 1
        return self._obs(), reward, terminated, False, self._info_copy()

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        demo = set(int(s) for s in self._demo)
        rows = []
        for y in reversed(range(self.size)):
            rows.append("".join("R" if y * self.size + x == self._state else "·" if y * self.size + x in demo
                                else " " for x in range(self.size)))
        return "\n".join(rows) + "\n"


def _register() -> None:
    for world, env_id in WORLDS.items():
        if env_id not in gym.registry:
            gym.register(
                id=env_id,
                entry_point="cirl.envs:GridworldEnv",
                vector_entry_point="cirl.envs:GridworldVecEnv",
                kwargs={"world": world},
            )
    if "cirl/Cirl-v0" not in gym.registry:
        gym.register(id="cirl/Cirl-v0", entry_point="cirl.envs:CirlEnv")
    if "cirl/Apprenticeship-v0" not in gym.registry:
        gym.register(id="cirl/Apprenticeship-v0", entry_point="cirl.envs:ApprenticeshipEnv")


_register()


def _pettingzoo() -> Any:
    from pettingzoo import AECEnv
    from pettingzoo.utils import AgentSelector

    class _CirlAECEnv(AECEnv):
        """A tabular CIRL or assistance game with both players as PettingZoo agents: each round the robot moves,
        then the human — who knows θ, and in an assistance game also sees the robot's action — then the world
        moves and both receive the shared reward R(s, a^H, a^R; θ). Observations (Discrete): the robot sees
        ``state * (H + 1) + the human's last action`` (H: none yet); the human sees ``(state * T + θ) * (R + 1)
        + the robot's action this round`` (R: not shown — a simultaneous CIRL game, or before the robot moved)."""

        metadata = {"render_modes": ["ansi"], "name": "cirl_v0", "is_parallelizable": False}

        def __init__(self, model: str = "red-blue", params: dict[str, Any] | None = None,
                     render_mode: str | None = None, max_rounds: int = 100) -> None:
            super().__init__()
            self._core = _cirl_core(model, params, 0.0, True)
            self.states, self.human_actions, self.robot_actions, self.thetas = self._core.names()
            self.render_mode = render_mode
            self.max_rounds = int(max_rounds)
            self.possible_agents = ["robot", "human"]
            self._nh, self._nr, self._nt = len(self.human_actions), len(self.robot_actions), len(self.thetas)
            ns = len(self.states)
            self._obs_spaces = {
                "robot": spaces.Discrete(ns * (self._nh + 1)),
                "human": spaces.Discrete(ns * self._nt * (self._nr + 1)),
            }
            self._act_spaces = {"robot": spaces.Discrete(self._nr), "human": spaces.Discrete(self._nh)}
            self._rng = np.random.default_rng()

        def observation_space(self, agent: str) -> spaces.Space:
            return self._obs_spaces[agent]

        def action_space(self, agent: str) -> spaces.Space:
            return self._act_spaces[agent]

        def observe(self, agent: str) -> np.int64:
            if agent == "robot":
                return np.int64(self._state * (self._nh + 1) + self._last_h)
            shown = self._robot if (self._robot is not None and self._core.human_responds) else self._nr
            return np.int64((self._state * self._nt + self._theta) * (self._nr + 1) + shown)

        def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> None:
            if seed is not None:
                self._rng = np.random.default_rng(seed)
            self.agents = self.possible_agents[:]
            self._state, self._theta = self._core.reset(float(self._rng.random()), float(self._rng.random()))
            self._last_h, self._robot, self._round = self._nh, None, 0
            self.rewards = {a: 0.0 for a in self.agents}
            self._cumulative_rewards = {a: 0.0 for a in self.agents}
            self.terminations = {a: False for a in self.agents}
            self.truncations = {a: False for a in self.agents}
            self.infos = {a: {} for a in self.agents}
            self._selector = AgentSelector(self.agents)
            self.agent_selection = self._selector.next()

        def step(self, action: int | None) -> None:
            agent = self.agent_selection
            if self.terminations[agent] or self.truncations[agent]:
                self._was_dead_step(action)
                return
            self._cumulative_rewards[agent] = 0.0
            if agent == "robot":
                self._robot = int(action)
                self._clear_rewards()
            else:
                s, reward, terminated = self._core.joint_step(self._robot, int(action), float(self._rng.random()))
                self._state, self._last_h, self._robot = s, int(action), None
                self._round += 1
                self.rewards = {a: reward for a in self.agents}
                truncated = not terminated and self._round >= self.max_rounds
                self.terminations = {a: terminated for a in self.agents}
                self.truncations = {a: truncated for a in self.agents}
            self.agent_selection = self._selector.next()
            self._accumulate_rewards()

        def render(self) -> str | None:
            if self.render_mode == "ansi":
                return f"state {self.states[self._state]}, round {self._round}\n"
            return None

        def close(self) -> None:
            pass

    return _CirlAECEnv


def __getattr__(name: str) -> Any:
    # PettingZoo is imported only when its environment is asked for.
    if name == "CirlAECEnv":
        cls = _pettingzoo()
        globals()["CirlAECEnv"] = cls
        return cls
    raise AttributeError(name)
