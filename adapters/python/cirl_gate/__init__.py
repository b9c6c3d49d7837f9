"""Route an agent's tool calls through `cirl gate` (a card's per-action escalation policy).

`Gate` runs one `cirl gate --format jsonl` process and asks it about one call at a time; `cirl_gate.openai_agents`
and `cirl_gate.langchain` plug it into those SDKs.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from dataclasses import dataclass, field
from typing import Any, Optional

__all__ = ["Decision", "Gate", "GateError"]


class GateError(ValueError):
    """A request the gate refused (its one-line message), or a gate that is not running."""


@dataclass(frozen=True)
class Decision:
    """The gate's answer to one tool call."""

    decision: str  # allow | ask | deny | defer
    move: Optional[str]  # act | ask | block | hand-over (None when deferred)
    cls: Optional[str]  # the deciding class
    reason: str
    confidence: Optional[float]
    confidence_source: str
    id: Optional[int]  # the decision's id in the log
    region: Optional[tuple] = None
    raw: dict = field(default_factory=dict, repr=False)

    @property
    def allowed(self) -> bool:
        return self.decision == "allow"

    @property
    def needs_human(self) -> bool:
        return self.decision == "ask"

    @property
    def denied(self) -> bool:
        return self.decision == "deny"


class Gate:
    """One `cirl gate --card CARD --format jsonl` process; `decide` is thread-safe."""

    def __init__(
        self,
        card: str | os.PathLike,
        *,
        binary: str = "cirl",
        log: str | os.PathLike | None = None,
        no_log: bool = False,
        verifier: str | None = None,
    ):
        cmd = [binary, "gate", "--card", os.fspath(card), "--format", "jsonl"]
        if no_log:
            cmd.append("--no-log")
        elif log is not None:
            cmd += ["--log", os.fspath(log)]
        if verifier is not None:
            cmd += ["--verifier", verifier]
        self._proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self._lock = threading.Lock()
        self._by_call: dict[str, Decision] = {}

    def decide(
        self,
        tool: str,
        input: dict[str, Any] | None = None,
        *,
        confidence: float | None = None,
        server: str | None = None,
        annotations: dict[str, bool] | None = None,
        session: str | None = None,
        tool_use_id: str | None = None,
    ) -> Decision:
        """The gate's decision on one call (logged before it is returned)."""
        req: dict[str, Any] = {"tool": tool, "input": input or {}}
        for k, v in (
            ("confidence", confidence),
            ("server", server),
            ("annotations", annotations),
            ("session", session),
            ("tool_use_id", tool_use_id),
        ):
            if v is not None:
                req[k] = v
        with self._lock:
            if self._proc.poll() is not None:
                raise GateError(f"cirl gate is not running: {self._proc.stderr.read().strip()}")
            self._proc.stdin.write(json.dumps(req) + "\n")
            self._proc.stdin.flush()
            line = self._proc.stdout.readline()
        if not line:
            raise GateError(f"cirl gate stopped: {self._proc.stderr.read().strip()}")
        out = json.loads(line)
        if "error" in out:
            raise GateError(out["error"])
        d = Decision(
            decision=out["decision"],
            move=out.get("move"),
            cls=out.get("class"),
            reason=out["reason"],
            confidence=out.get("confidence"),
            confidence_source=out["confidence_source"],
            id=out.get("id"),
            region=tuple(out["region"]) if out.get("region") else None,
            raw=out,
        )
        if tool_use_id is not None:
            self._by_call[tool_use_id] = d
        return d

    def decision_for(self, tool_use_id: str) -> Decision | None:
        """The decision made earlier for a call id."""
        return self._by_call.get(tool_use_id)

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.stdin.close()
            self._proc.wait(timeout=10)

    def __enter__(self) -> "Gate":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
