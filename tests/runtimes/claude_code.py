"""Runs the real Claude Code (from the npm registry) offline against the fake Messages API and reports what its
permission system did with each planned tool call: "allow" (the tool ran), "ask" (it went to the permission
prompt: the fake MCP server's prompt tool, which says no unless the call carries "cirl-approve") or "deny" (a deny
rule, or a hook's deny)."""

import json
import os
import pathlib
import subprocess
import sys

from fake_anthropic import MARKER, FakeAnthropic

HERE = pathlib.Path(__file__).resolve().parent
CLAUDE = HERE / "node_modules" / "@anthropic-ai" / "claude-code" / "bin" / "claude.exe"

# Asks reach the permission prompt tool of the fake MCP server, which answers with this marker.
ASK_MARKERS = ("cirl-asked",)
DENY_MARKERS = ("has been denied", "denied by", "blocked by", "hook error")


def outcome(text, is_error):
    t = text or ""
    low = t.lower()
    # A deny rule on a whole tool (an MCP tool has no narrower form) removes it from the agent's tools.
    if "no such tool available" in low:
        return "deny"
    if any(m in low for m in ASK_MARKERS):
        return "ask"
    if any(m in low for m in DENY_MARKERS) or "cirl: " in low:
        return "deny"
    return "allow"


def stub_shell(root):
    """A shell that runs nothing: Claude Code's Bash tool executes allowed commands, and the test's must not."""
    sh = root / "stub-bash"
    sh.write_text("#!/bin/sh\necho stub\n")
    sh.chmod(0o755)
    return sh


def run(settings, calls, workdir, mcp_servers=None, agents=None, extra_path=None, timeout=120):
    """Plans `calls` ([{"name", "input"}]) in one Claude Code session with `settings` (a file) and returns, per
    call, (outcome, tool result text)."""
    workdir = pathlib.Path(workdir)
    home = workdir / "home"
    home.mkdir(parents=True, exist_ok=True)
    proj = workdir / "proj"
    proj.mkdir(parents=True, exist_ok=True)
    sh = stub_shell(workdir)
    env = {
        "HOME": str(home),
        "PATH": (f"{extra_path}:" if extra_path else "") + os.environ.get("PATH", "/usr/bin:/bin"),
        "ANTHROPIC_API_KEY": "sk-cirl-test",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
        "SHELL": str(sh),
        "CLAUDE_CODE_SHELL": str(sh),
        "LANG": "C.UTF-8",
    }
    with FakeAnthropic(calls) as api:
        env["ANTHROPIC_BASE_URL"] = f"http://127.0.0.1:{api.port}"
        cmd = [str(CLAUDE), "-p", "--settings", str(settings), "--output-format", "json",
               "--permission-mode", "default"]
        servers = dict(mcp_servers or {})
        servers["cirlprompt"] = []
        cfg = {"mcpServers": {name: {"command": sys.executable, "args": [str(HERE / "fake_mcp.py"), *tools]}
                              for name, tools in servers.items()}}
        cmd += ["--mcp-config", json.dumps(cfg), "--strict-mcp-config",
                "--permission-prompt-tool", "mcp__cirlprompt__approve"]
        if agents:
            cmd += ["--agents", json.dumps({a: {"description": f"test agent {a}", "prompt": "Say done."}
                                            for a in agents})]
        cmd.append(f"{MARKER}: make the planned tool calls")
        p = subprocess.run(cmd, cwd=proj, env=env, capture_output=True, text=True, timeout=timeout)
        if api.results is None:
            raise RuntimeError(f"Claude Code sent no tool results (exit {p.returncode}): {p.stdout[-2000:]} {p.stderr[-2000:]}")
        out = []
        for i, _ in enumerate(calls):
            text, err = api.results.get(f"toolu_{i:04d}", ("<no result>", True))
            out.append((outcome(text, err), text))
        return out, p
