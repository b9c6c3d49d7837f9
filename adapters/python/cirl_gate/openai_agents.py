"""The gate as the OpenAI Agents SDK's `needs_approval` callable.

    from agents import function_tool
    from cirl_gate import Gate, openai_agents as og

    gate = Gate("card.json")
    refund = function_tool(issue_refund, needs_approval=og.needs_approval(gate, "issue_refund", server="support"))
    result = await Runner.run(agent, "…")
    state, pending = og.resolve(gate, result)   # denied calls rejected with the gate's reason
    for item, decision in pending:              # asked calls: a human decides
        state.approve(item)                     # or state.reject(item)
    result = await Runner.run(agent, state)
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from . import Decision, Gate


def needs_approval(
    gate: Gate,
    tool: str,
    *,
    server: str | None = None,
    confidence_arg: str | None = "confidence",
) -> Callable[[Any, dict[str, Any], str], Awaitable[bool]]:
    """A `needs_approval(ctx, params, call_id)` callable: True unless the gate allows the call. The call's
    confidence is read from its `confidence_arg` argument when the tool has one."""

    async def check(ctx: Any, params: dict[str, Any], call_id: str) -> bool:
        conf = params.get(confidence_arg) if confidence_arg else None
        if conf is not None and not isinstance(conf, (int, float)):
            conf = None
        d = gate.decide(tool, params, confidence=conf, server=server, tool_use_id=call_id)
        return not d.allowed

    return check


def _call_id(item: Any) -> str | None:
    raw = getattr(item, "raw_item", None)
    for key in ("call_id", "id"):
        v = getattr(raw, key, None)
        if v is None and isinstance(raw, dict):
            v = raw.get(key)
        if v is not None:
            return v
    return None


def resolve(gate: Gate, result: Any) -> tuple[Any, list[tuple[Any, Decision | None]]]:
    """The run's state with every interruption the gate denied rejected (the gate's reason is what the model
    reads), and the interruptions left for a human, each with its decision."""
    state = result.to_state()
    pending: list[tuple[Any, Decision | None]] = []
    for item in result.interruptions:
        cid = _call_id(item)
        d = gate.decision_for(cid) if cid else None
        if d is not None and d.denied:
            state.reject(item, rejection_message=d.reason)
        else:
            pending.append((item, d))
    return state, pending
