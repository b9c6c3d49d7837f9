"""Write a synthetic decision log in cirl-log/1 JSON Lines, for timing `cirl fit` (BENCHMARKS.md, issue 17).

Usage: python benches/reference/fit_log.py N OUT.jsonl [SEED]

Four classes of the coding-agent scenario, N/4 calls each; every call's action is bad with probability 1/3; the
agent's confidence is sqrt(u) for a good call and 1 - sqrt(u) for a bad one (u uniform); 30% of the calls are
asked; the reviewer approves 95% of good and 40% of bad calls; half the outcomes are logged, a bad call being
undone at a lognormal(1, 1) cost. One call a second from 2026-01-01. Only the standard library: the file is the same on every machine.
"""

import json
import math
import random
import sys
import time

START = 1_767_225_600  # 2026-01-01T00:00:00Z, one call a second
CLASSES = ["read-search", "edit-file", "run-tests-build", "irreversible"]


def main() -> None:
    n = int(sys.argv[1])
    out = sys.argv[2]
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 17)
    with open(out, "w") as f:
        for i in range(n):
            cls = CLASSES[i % 4]
            bad = rng.random() < 1 / 3
            u = math.sqrt(rng.random())
            conf = 1 - u if bad else u
            asked = rng.random() < 0.3
            rec = {
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(START + i)),
                "tool": "Bash",
                "class": cls,
                "confidence": round(conf, 4),
                "move": "ask" if asked else "act",
                "session": f"s{i // 1000}",
                "tool_use_id": f"t{i}",
            }
            if asked:
                approve = rng.random() < (0.40 if bad else 0.95)
                rec["answer"] = "approve" if approve else "reject"
            # The outcome, logged for half the calls (for a rejected call: what it would have done).
            if rng.random() < 0.5:
                if bad:
                    rec["outcome"] = "undone"
                    rec["cost"] = round(math.exp(rng.gauss(1.0, 1.0)), 4)
                else:
                    rec["outcome"] = "fine"
            f.write(json.dumps(rec, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
