"""The Python adapters (adapters/python, package cirl_gate) in the real OpenAI Agents SDK and LangChain, driven by
fake models (no network): the gate allows, asks or denies each call by its class and confidence, denied calls are
answered with the gate's reason, and every decision is logged."""

import asyncio
import json
import sqlite3

import pytest

from cirl_gate import Gate, GateError

CALLS = [
    # (tool, confidence): the support bot's card routes each by class and confidence.
    ("answer_faq", 0.9),         # faq: act
    ("issue_refund", 0.5),       # billing-refund: ask (reported confidence in its ask region)
    ("handle_complaint", 0.01),  # complaint: hand over (below its first threshold)
]


@pytest.fixture()
def support(cards, cirl_bin, monkeypatch, tmp_path):
    d, card = cards["support-bot"]
    monkeypatch.setenv("PATH", f"{cirl_bin.parent}:" + __import__("os").environ["PATH"])
    monkeypatch.setenv("OPENAI_AGENTS_DISABLE_TRACING", "1")
    classes = {c["name"]: c for c in card["classes"]}
    # The expectations above come from the card's regions.
    def move_at(cls, r):
        for lo, hi, mv in [(x["reported_from"], x["reported_to"], x["move"]) for x in classes[cls]["regions"]]:
            if lo <= r < hi or hi >= 1.0 and r >= lo:
                return mv
    assert move_at("faq", 0.9) == "act"
    assert move_at("billing-refund", 0.5) == "ask"
    assert move_at("complaint", 0.01) == "hand-over"
    log = tmp_path / "decisions.sqlite"
    return d / "card.json", log


def test_the_gate_process_answers_and_refuses_bad_requests(support):
    card, log = support
    with Gate(card, log=log) as g:
        d = g.decide("issue_refund", {"order": 1}, server="support", confidence=0.5)
        assert (d.decision, d.move, d.cls) == ("ask", "ask", "billing-refund")
        with pytest.raises(GateError, match="confidence"):
            g.decide("issue_refund", {}, server="support", confidence=3.0)
        # The process is still answering after a bad request.
        assert g.decide("answer_faq", {}, server="support").allowed
    assert sqlite3.connect(log).execute("select count(*) from decisions").fetchone()[0] == 2


def test_openai_agents_sdk_needs_approval_and_resolve(support):
    from agents import Agent, Runner, function_tool
    from agents.items import ModelResponse
    from agents.models.interface import Model
    from agents.usage import Usage
    from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText

    from cirl_gate import openai_agents as og

    card, log = support
    ran = []
    seen_inputs = []

    class FakeModel(Model):
        """Plans the three calls, then answers with text once the results are in."""

        def __init__(self):
            self.turn = 0

        async def get_response(self, system_instructions, input, *args, **kwargs):
            seen_inputs.append(input)
            self.turn += 1
            if self.turn == 1:
                out = [ResponseFunctionToolCall(type="function_call", id=f"fc{i}", call_id=f"call_{t}", name=t,
                                                arguments=json.dumps({"order": 7, "confidence": c}))
                       for i, (t, c) in enumerate(CALLS)]
            else:
                out = [ResponseOutputMessage(type="message", id="m", role="assistant", status="completed",
                                             content=[ResponseOutputText(type="output_text", text="done",
                                                                         annotations=[])])]
            return ModelResponse(output=out, usage=Usage(), response_id=None)

        def stream_response(self, *args, **kwargs):
            raise NotImplementedError

    with Gate(card, log=log) as gate:
        def make(name):
            def tool(order: int, confidence: float) -> str:
                ran.append(name)
                return f"{name} done"
            tool.__name__ = name
            return function_tool(tool, needs_approval=og.needs_approval(gate, name, server="support"))

        agent = Agent(name="support", model=FakeModel(), tools=[make(t) for t, _ in CALLS])

        async def go():
            result = await Runner.run(agent, "help the customer")
            assert {i.raw_item.call_id for i in result.interruptions} == {"call_issue_refund", "call_handle_complaint"}
            state, pending = og.resolve(gate, result)
            # The hand-over is rejected with the gate's reason; the refund waits for a person, who approves it.
            assert [(i.raw_item.call_id, d.decision) for i, d in pending] == [("call_issue_refund", "ask")]
            for item, _ in pending:
                state.approve(item)
            return await Runner.run(agent, state)

        final = asyncio.run(go())
    assert final.final_output == "done"
    assert sorted(ran) == ["answer_faq", "issue_refund"], ran
    # The model read why the complaint was not handled.
    told = json.dumps([x for x in seen_inputs[-1] if isinstance(x, dict)], default=str)
    assert "hand this task to a human" in told, told[:2000]
    rows = sqlite3.connect(log).execute("select tool, decision, confidence_source from decisions").fetchall()
    assert sorted(rows) == sorted([("answer_faq", "allow", "request"), ("issue_refund", "ask", "request"),
                                   ("handle_complaint", "deny", "request")]), rows


def test_langchain_middleware_interrupts_asks_and_answers_denials(support):
    from langchain.agents import create_agent
    from langchain.agents.middleware import HumanInTheLoopMiddleware
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage, ToolMessage
    from langchain_core.tools import tool as lc_tool
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.types import Command

    from cirl_gate import langchain as lg

    card, log = support
    ran = []

    class FakeToolModel(GenericFakeChatModel):
        def bind_tools(self, tools, **kwargs):
            return self

    def make(name):
        def f(order: int, confidence: float) -> str:
            """A support tool."""
            ran.append(name)
            return f"{name} done"
        f.__name__ = name
        return lc_tool(f)

    model = FakeToolModel(messages=iter([
        AIMessage(content="", tool_calls=[{"name": t, "args": {"order": 7, "confidence": c}, "id": f"call_{t}"}
                                          for t, c in CALLS]),
        AIMessage(content="done"),
    ]))
    with Gate(card, log=log) as gate:
        agent = create_agent(
            model,
            tools=[make(t) for t, _ in CALLS],
            middleware=[
                lg.GateMiddleware(gate, server="support"),
                HumanInTheLoopMiddleware(interrupt_on=lg.interrupt_on(gate, [t for t, _ in CALLS], server="support")),
            ],
            checkpointer=InMemorySaver(),
        )
        cfg = {"configurable": {"thread_id": "t1"}}
        first = agent.invoke({"messages": [{"role": "user", "content": "help"}]}, cfg)
        interrupts = first["__interrupt__"]
        asked = [a["name"] for a in interrupts[0].value["action_requests"]]
        assert asked == ["issue_refund"], asked
        out = agent.invoke(Command(resume={"decisions": [{"type": "approve"}]}), cfg)
    assert sorted(ran) == ["answer_faq", "issue_refund"], ran
    tool_msgs = {m.tool_call_id: m for m in out["messages"] if isinstance(m, ToolMessage)}
    assert "hand this task to a human" in tool_msgs["call_handle_complaint"].content
    assert tool_msgs["call_issue_refund"].content == "issue_refund done"
    # One logged decision per call, even though the `when` predicate runs again on resume.
    n = sqlite3.connect(log).execute("select count(*) from decisions").fetchone()[0]
    assert n == 3, n
