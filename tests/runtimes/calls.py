"""An example call of a card (`{"kind": "shell", "command": …}` …) as each runtime's tool call."""

import shlex


def claude(call, proj):
    """(tool name, input) of Claude Code, creating the files an edit or read needs (the permission check comes
    after Claude Code's own checks that the file exists)."""
    k = call["kind"]
    if k == "shell":
        return "Bash", {"command": call["command"], "description": "cirl runtime check"}
    if k in ("edit", "read"):
        p = proj / call["path"]
        p.parent.mkdir(parents=True, exist_ok=True)
        if not p.exists():
            p.write_text("a\n")
        if k == "edit":
            return "Edit", {"file_path": str(p), "old_string": "a", "new_string": "b"}
        return "Read", {"file_path": str(p)}
    if k == "mcp":
        return f"mcp__{call['server']}__{call['tool']}", {}
    if k == "agent":
        return "Agent", {"description": "cirl check", "prompt": "Say done.", "subagent_type": call["name"]}
    if k == "fetch":
        return "WebFetch", {"url": call["url"], "prompt": "summarise"}
    return call["name"], {}


def gemini(call, workspace="/workspace/project"):
    """A Gemini CLI function call: (name, args, server, annotations)."""
    k = call["kind"]
    if k == "shell":
        return "run_shell_command", {"command": call["command"]}, None, None
    if k == "edit":
        return "replace", {"file_path": f"{workspace}/{call['path']}", "old_string": "a", "new_string": "b"}, None, None
    if k == "read":
        return "read_file", {"file_path": f"{workspace}/{call['path']}"}, None, None
    if k == "mcp":
        return f"mcp_{call['server']}_{call['tool']}", {}, call["server"], call.get("annotations") or None
    if k == "agent":
        return "invoke_agent", {"agent_name": call["name"]}, None, None
    if k == "fetch":
        return "web_fetch", {"prompt": f"summarise {call['url']}"}, None, None
    return call["name"], {}, None, call.get("annotations") or None


def codex(call):
    """Codex command tokens (simple shell commands only)."""
    if call["kind"] != "shell":
        return None
    c = call["command"]
    if any(op in c for op in ("&&", "||", ";", "|", "&", "\n", "(", ")")):
        return None
    return shlex.split(c)
