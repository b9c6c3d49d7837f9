"""Read a cirl decision log into pandas.

``read(path)`` takes the gate's SQLite log (``decisions.sqlite``) or a JSON Lines log (schema ``cirl-log/1``, as
``cirl log export`` writes it) and returns one row per tool call with the keys of the schema as columns: ``time``
(a UTC timestamp), ``tool``, ``class``, ``confidence``, ``confidence_source``, ``move``, ``decision``, ``answer``
(the latest), ``outcome`` and ``cost`` (the latest), ``session``, ``tool_use_id`` and ``id`` (the log's decision
id, where there is one), and for a choice between offered options ``options`` (a list of ``{"label", "value"}`` or
``{"label", "features"}`` dicts) and ``chosen`` (a label). Rows are in time order. pandas is needed only here:
``pip install pandas``.
"""

from __future__ import annotations

import json
import os
import sqlite3

COLUMNS = [
    "id", "time", "tool", "class", "confidence", "confidence_source", "move", "decision",
    "answer", "answer_time", "outcome", "cost", "outcome_time", "note", "session", "tool_use_id", "options", "chosen",
]

_QUERY = """
SELECT d.id, d.time, d.tool, d.class, d.confidence, d.confidence_source, d.move, d.decision,
       a.answer, a.time AS answer_time, o.label AS outcome, o.cost, o.time AS outcome_time, o.note,
       d.session, d.tool_use_id, {choices}
FROM decisions d
LEFT JOIN answers a ON a.id = (SELECT max(id) FROM answers WHERE decision_id = d.id)
LEFT JOIN outcomes o ON o.id = (SELECT max(id) FROM outcomes WHERE decision_id = d.id)
{join}
ORDER BY d.time, d.id
"""
# A log written before the choices table (it is added when a log is first imported into or fitted) has none.
_CHOICES = ("c.options, c.chosen",
            "LEFT JOIN choices c ON c.id = (SELECT max(id) FROM choices WHERE decision_id = d.id)")
_NO_CHOICES = ("NULL AS options, NULL AS chosen", "")


def _is_sqlite(path: str) -> bool:
    with open(path, "rb") as f:
        return f.read(16) == b"SQLite format 3\x00"


def read(path: str | os.PathLike):
    """The calls of the log at ``path`` as a pandas DataFrame (see the module docs)."""
    import pandas as pd

    path = os.fspath(path)
    if _is_sqlite(path):
        # Read-only: reading never changes the gate's log.
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            has = con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'choices'").fetchone()
            cols, join = _CHOICES if has else _NO_CHOICES
            df = pd.read_sql_query(_QUERY.format(choices=cols, join=join), con)
        finally:
            con.close()
    else:
        rows = []
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise ValueError(f"{path}:{n}: not JSON ({e.msg}); check it with `cirl log import`") from None
        df = pd.DataFrame(rows)
        for c in COLUMNS:
            if c not in df.columns:
                df[c] = None
        df = df[COLUMNS]
    # Stored as JSON text in SQLite; a JSON Lines row without options has none (not NaN).
    df["options"] = pd.Series(
        [json.loads(o) if isinstance(o, str) else o if isinstance(o, list) else None for o in df["options"]],
        index=df.index, dtype=object)
    for c in ("time", "answer_time", "outcome_time"):
        df[c] = pd.to_datetime(df[c], utc=True, format="ISO8601")
    df["confidence"] = pd.to_numeric(df["confidence"])
    df["cost"] = pd.to_numeric(df["cost"])
    return df.sort_values(["time"], kind="stable").reset_index(drop=True)
