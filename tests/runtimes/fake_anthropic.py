"""A local stand-in for the Anthropic Messages API, so that the real Claude Code runs offline under test.

The first request of a session whose prompt carries MARKER is answered with one tool_use block per planned call;
every other request (the follow-up with the tool results, subagents, titles) gets a short text answer. The tool
results Claude Code sends back are recorded: they say, call by call, whether the permission system let it run.
"""

import http.server
import json
import threading

MARKER = "CIRL-RUNTIME-CHECK"


class FakeAnthropic:
    def __init__(self, calls):
        self.calls = calls  # [{"name": ..., "input": {...}}]
        self.results = None  # tool_use_id -> (content text, is_error)
        self.requests = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                self.send_response(404)
                self.end_headers()

            def do_HEAD(self):
                self.send_response(200)
                self.end_headers()

            def do_POST(self):
                n = int(self.headers.get("content-length", 0))
                raw = self.rfile.read(n) if n else b"{}"
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {}
                outer.requests.append(self.path)
                if not self.path.startswith("/v1/messages") or "count_tokens" in self.path:
                    out = json.dumps({"input_tokens": 10}).encode()
                    self.send_response(200)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(out)))
                    self.end_headers()
                    self.wfile.write(out)
                    return
                blocks, stop = outer.answer(body)
                self.reply(body, blocks, stop)

            def reply(self, body, blocks, stop):
                msg = {"id": "msg_cirl", "type": "message", "role": "assistant", "model": body.get("model", "m"),
                       "content": [], "stop_reason": None, "stop_sequence": None,
                       "usage": {"input_tokens": 1, "output_tokens": 1}}
                if not body.get("stream"):
                    msg["content"], msg["stop_reason"] = blocks, stop
                    out = json.dumps(msg).encode()
                    self.send_response(200)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(out)))
                    self.end_headers()
                    self.wfile.write(out)
                    return
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.end_headers()

                def ev(kind, data):
                    self.wfile.write(f"event: {kind}\ndata: {json.dumps(data)}\n\n".encode())

                ev("message_start", {"type": "message_start", "message": msg})
                for i, b in enumerate(blocks):
                    if b["type"] == "text":
                        ev("content_block_start", {"type": "content_block_start", "index": i,
                                                   "content_block": {"type": "text", "text": ""}})
                        ev("content_block_delta", {"type": "content_block_delta", "index": i,
                                                   "delta": {"type": "text_delta", "text": b["text"]}})
                    else:
                        ev("content_block_start", {"type": "content_block_start", "index": i,
                                                   "content_block": {"type": "tool_use", "id": b["id"],
                                                                     "name": b["name"], "input": {}}})
                        ev("content_block_delta", {"type": "content_block_delta", "index": i,
                                                   "delta": {"type": "input_json_delta",
                                                             "partial_json": json.dumps(b["input"])}})
                    ev("content_block_stop", {"type": "content_block_stop", "index": i})
                ev("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                                     "usage": {"output_tokens": 1}})
                ev("message_stop", {"type": "message_stop"})
                self.wfile.flush()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self, body):
        msgs = body.get("messages", [])
        last = msgs[-1] if msgs else {}
        content = last.get("content")
        results = [c for c in content if isinstance(c, dict) and c.get("type") == "tool_result"] \
            if isinstance(content, list) else []
        first = msgs[0] if msgs else {}
        text = json.dumps(first.get("content", ""))
        if results and MARKER in text and self.results is None:
            self.results = {}
            for r in results:
                c = r.get("content")
                if isinstance(c, list):
                    c = " ".join(x.get("text", "") for x in c if isinstance(x, dict))
                self.results[r["tool_use_id"]] = (str(c), bool(r.get("is_error")))
            return [{"type": "text", "text": "done"}], "end_turn"
        if MARKER in text and not results and self.results is None and body.get("tools"):
            blocks = [{"type": "tool_use", "id": f"toolu_{i:04d}", "name": c["name"], "input": c["input"]}
                      for i, c in enumerate(self.calls)]
            return blocks, "tool_use"
        return [{"type": "text", "text": "done"}], "end_turn"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *a):
        self.server.shutdown()
        self.server.server_close()
