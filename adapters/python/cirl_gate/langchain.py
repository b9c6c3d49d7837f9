"""The gate in LangChain's agent middleware.

    from langchain.agents import create_agent
    from langchain.agents.middleware import HumanInTheLoopMiddleware
    from cirl_gate import Gate, langchain as lg

    gate = Gate("card.json")
    agent = create_agent(model, tools, middleware=[
        lg.GateMiddleware(gate),                                          # denied calls answered, not run
        HumanInTheLoopMiddleware(interrupt_on=lg.interrupt_on(gate, ["issue_refund"])),  # asked calls interrupt
    ], checkpointer=...)
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

from langchain.agents.middleware import AgentMiddleware
from langchain_core.messages import ToolMessage

from . import Decision, Gate


def _confidence(args: dict[str, Any], confidence_arg: str | None) -> float | None:
    v = args.get(confidence_arg) if confidence_arg else None
    return v if isinstance(v, (int, float)) else None


def _decide(gate: Gate, call: dict[str, Any], server: str | None, confidence_arg: str | None) -> Decision:
    args = call.get("args") or {}
    d = gate.decision_for(call["id"]) if call.get("id") else None
    return d or gate.decide(
        call["name"], args, confidence=_confidence(args, confidence_arg), server=server, tool_use_id=call.get("id")
    )


def interrupt_on(
    gate: Gate,
    tools: Iterable[str],
    *,
    server: str | None = None,
    confidence_arg: str | None = "confidence",
    allowed_decisions: list[str] | None = None,
) -> dict[str, Any]:
    """`interrupt_on` for HumanInTheLoopMiddleware: each tool interrupts exactly when the gate asks."""

    def when_for(name: str) -> Callable[[Any], bool]:
        def when(request: Any) -> bool:
            return _decide(gate, request.tool_call, server, confidence_arg).needs_human

        return when

    return {
        t: {"allowed_decisions": allowed_decisions or ["approve", "edit", "reject"], "when": when_for(t)}
        for t in tools
    }


class GateMiddleware(AgentMiddleware):
    """Answers the calls the gate denies (blocks and hand-overs) with the gate's reason instead of running them."""

    def __init__(self, gate: Gate, *, server: str | None = None, confidence_arg: str | None = "confidence"):
        super().__init__()
        self.gate = gate
        self.server = server
        self.confidence_arg = confidence_arg

    def wrap_tool_call(self, request: Any, handler: Callable[[Any], Any]) -> Any:
        d = _decide(self.gate, request.tool_call, self.server, self.confidence_arg)
        if d.denied:
            return ToolMessage(content=d.reason, tool_call_id=request.tool_call["id"], status="error")
        return handler(request)
