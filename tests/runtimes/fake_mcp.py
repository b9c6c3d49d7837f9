"""A stdio MCP server that offers the tools named on its command line and answers every call with "ok".

Usage: python3 fake_mcp.py TOOL[:hint,hint] ...   (hints: readOnlyHint, destructiveHint, idempotentHint, openWorldHint)

It speaks the JSON-RPC of the Model Context Protocol (initialize, tools/list, tools/call) without a dependency, so
that an agent runtime under test sees real MCP tools; nothing it does has an effect. Its `approve` tool is a
permission prompt (Claude Code's --permission-prompt-tool): it answers "deny" with the marker CIRL-ASKED, or
"allow" for a call whose input carries "cirl-approve".
"""

import json
import sys


def tools_from_argv(argv):
    tools = []
    for arg in argv:
        name, _, hints = arg.partition(":")
        t = {"name": name, "description": f"test tool {name}", "inputSchema": {"type": "object", "properties": {}}}
        if hints:
            t["annotations"] = {h: True for h in hints.split(",") if h}
        tools.append(t)
    return tools


def main():
    tools = tools_from_argv(sys.argv[1:])
    tools.append({"name": "approve", "description": "permission prompt", "inputSchema": {
        "type": "object", "properties": {"tool_name": {"type": "string"}, "input": {"type": "object"},
                                          "tool_use_id": {"type": "string"}}}})
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        msg = json.loads(line)
        if "id" not in msg:
            continue  # a notification
        method = msg.get("method")
        if method == "initialize":
            version = msg.get("params", {}).get("protocolVersion", "2025-06-18")
            result = {
                "protocolVersion": version,
                "capabilities": {"tools": {"listChanged": False}},
                "serverInfo": {"name": "cirl-test", "version": "1"},
            }
        elif method == "tools/list":
            result = {"tools": tools}
        elif method == "tools/call":
            params = msg.get("params", {})
            if params.get("name") == "approve":
                # Claude Code's permission prompt tool: a call it would ask a person about comes here. Record it
                # as asked; approve only calls that carry the test's approval marker.
                args = params.get("arguments", {})
                approve = "cirl-approve" in json.dumps(args.get("input", {}))
                answer = {"behavior": "allow", "updatedInput": args.get("input", {})} if approve \
                    else {"behavior": "deny", "message": "CIRL-ASKED: a person was asked and said no"}
                result = {"content": [{"type": "text", "text": json.dumps(answer)}], "isError": False}
            else:
                result = {"content": [{"type": "text", "text": "ok"}], "isError": False}
        elif method == "ping":
            result = {}
        else:
            sys.stdout.write(json.dumps({"jsonrpc": "2.0", "id": msg["id"],
                                         "error": {"code": -32601, "message": f"no method {method}"}}) + "\n")
            sys.stdout.flush()
            continue
        sys.stdout.write(json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": result}) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
