#!/usr/bin/env python3
"""Records the vendor SDK's own answers as fixtures our specs replay (spec/reference/*.spec.ts).

Source: Autoplay-AI/Autoplay-AI-SDK (MIT), commit d82a2fd1e93059601540bd3286219e553510623a.
Only answers are written (spec/reference/fixtures/*.json), never the vendor's code. Its package
`__init__` imports httpx and rich, so the four modules needed (models, webhook_receiver,
context_store, summarizer, and what they import) are loaded by path from the commit.

Regenerate (a clone or a bare mirror of the repository; nothing else is read):

    python3 spec/reference/generate.py /path/to/Autoplay-AI-SDK

Scenarios are seeded, so a rerun writes the same files. A row keeps the `tag` and `ours` fields of
the previous file when its id and its reference answer are unchanged; a row whose reference answer
changed loses them, so that the spec says which named difference needs a new look.
"""
from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import hmac
import importlib
import json
import logging
import os
import random
import subprocess
import sys
import tempfile
import types

COMMIT = "d82a2fd1e93059601540bd3286219e553510623a"
REPO = "Autoplay-AI/Autoplay-AI-SDK"
MODULES = ["exceptions", "metrics", "models", "webhook_receiver", "summarizer", "context_store"]
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures")
NOW = 1_700_000_000.0  # the clock every context scenario starts at, in seconds
SECRET = "whsec_parity"

logging.disable(logging.CRITICAL)  # the reference logs every failure it recovers from


def load(repo: str) -> types.SimpleNamespace:
    """The reference's modules at COMMIT, imported from a temporary copy without the package __init__."""
    git = ["git", "--git-dir", repo] if not os.path.isdir(os.path.join(repo, ".git")) else ["git", "-C", repo]
    root = tempfile.mkdtemp(prefix="autoplay-sdk-")
    package = os.path.join(root, "autoplay_sdk")
    os.makedirs(package)
    for name in MODULES:
        text = subprocess.run(git + ["show", f"{COMMIT}:autoplay_sdk/{name}.py"], check=True,
                              capture_output=True).stdout
        with open(os.path.join(package, f"{name}.py"), "wb") as f:
            f.write(text)
    stub = types.ModuleType("autoplay_sdk")
    stub.__path__ = [package]
    sys.modules["autoplay_sdk"] = stub
    return types.SimpleNamespace(**{name: importlib.import_module(f"autoplay_sdk.{name}") for name in MODULES})


# --- random inputs -------------------------------------------------------------------------------

WORDS = ["Export", "report", "billing", "Dashboard", "team", "invite", "CSV", "settings", "plan", "search",
         "filter", "naïve", "café", "—", "日本語", "🙂", "{x}", "100%", "a\tb", "line\nbreak", "\"quoted\""]
TYPES = ["pageview", "click", "submit", "input", ""]
URLS = ["https://app.example.com/dashboard", "https://app.example.com/projects/:id",
        "https://app.example.com/settings/billing", "", "/relative/:id"]


def words(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high)))


def action(rng: random.Random, index: int) -> dict:
    a = {"index": index, "type": rng.choice(TYPES), "title": words(rng, 1, 3), "description": words(rng, 0, 6),
         "canonical_url": rng.choice(URLS), "raw_url": rng.choice(URLS), "timestamp_start": NOW - rng.randint(0, 900),
         "timestamp_end": NOW - rng.randint(0, 900)}
    for key in list(a):  # the connector omits or nulls optional fields now and then
        roll = rng.random()
        if key != "index" and roll < 0.05:
            del a[key]
        elif key != "index" and roll < 0.08:
            a[key] = None
    return a


def actions_payload(rng: random.Random, session, product, forwarded_at: float, count=None) -> dict:
    n = count if count is not None else rng.choice([0, 1, 1, 2, 3, 4, 6])
    p = {"type": "actions", "product_id": product, "session_id": session, "user_id": rng.choice([None, "u_1"]),
         "email": rng.choice([None, "a@example.com"]), "actions": [action(rng, i) for i in range(n)],
         "count": n if rng.random() > 0.1 else n + 1, "forwarded_at": forwarded_at}
    if product is None:
        del p["product_id"]
    return p


def summary_payload(rng: random.Random, session, product, forwarded_at: float) -> dict:
    return {"type": "summary", "product_id": product or "", "session_id": session, "summary": words(rng, 0, 12),
            "replaces": rng.randint(0, 20), "forwarded_at": forwarded_at}


def body_fields(body: bytes) -> dict:
    try:
        return {"body": body.decode("utf-8")}
    except UnicodeDecodeError:
        return {"body_b64": base64.b64encode(body).decode("ascii")}


def plain(value):
    """A reference answer as JSON: dataclasses as dicts, exceptions by class name."""
    if dataclasses.is_dataclass(value):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def outcome(call):
    try:
        return {"returns": plain(call())}
    except Exception as error:  # the answer is the exception's class, as a caller would catch it
        return {"raises": type(error).__name__}


# --- the receiver and the models -----------------------------------------------------------------

def receiver_rows(ref, rng: random.Random) -> list[dict]:
    Receiver = ref.webhook_receiver.WebhookReceiver
    bodies = []
    for i in range(120):
        session = rng.choice(["ps_1", "ps_2", "", None])
        product = rng.choice(["prod_a", "", None])
        bodies.append(("actions", json.dumps(actions_payload(rng, session, product, NOW - rng.randint(0, 99)),
                                             ensure_ascii=rng.random() < 0.5).encode()))
    for i in range(40):
        bodies.append(("summary", json.dumps(summary_payload(rng, rng.choice(["ps_1", None]), rng.choice(["p", None]),
                                                             NOW)).encode()))
    odd = [b"", b"{", b"null", b"[]", b"[1]", b"1", b"\"actions\"", b"{}", b"{\"type\":\"heartbeat\"}",
           b"{\"type\":\"usertour_trigger\",\"session_id\":\"ps_1\"}", b"{\"type\":\"actions\",\"actions\":\"abc\"}",
           b"{\"type\":\"actions\",\"actions\":[1]}", b"{\"type\":\"actions\",\"actions\":null,\"count\":3}",
           b"{\"type\":\"summary\",\"summary\":null,\"replaces\":\"7\"}", b"{\"type\":\"ACTIONS\"}",
           b"\xef\xbb\xbf{\"type\":\"summary\",\"summary\":\"bom\"}", b"{\"type\":\"summary\",\"summary\":\"\xff\"}",
           b"{\"type\":\"summary\",\"summary\":\"a\",\"summary\":\"b\"}", b"{\"type\":\"summary\",\"__proto__\":{}}",
           b"{\"type\":\"actions\",\"session_id\":123,\"actions\":[]}", b"  {\"type\":\"summary\"}  ",
           b"{\"type\":\"summary\",\"forwarded_at\":NaN}", b"{\"type\":\"summary\",\"forwarded_at\":1e999}"]
    bodies += [("odd", b) for b in odd]
    rows = []
    for n, (kind, body) in enumerate(bodies):
        good = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        headers = {"valid": good, "forged": "sha256=" + "0" * 64, "missing": None, "uppercase": good.upper(),
                   "bare": good.removeprefix("sha256="), "padded": good + " "}
        cases = [(SECRET, h) for h in (["valid", "forged", "missing"] if kind != "odd" else list(headers))]
        cases += [("", "valid"), ("", "missing")]
        answers = []
        for secret, header_kind in cases:
            header = headers[header_kind]
            called = []
            receiver = Receiver(secret=secret, on_actions=lambda p: called.append("actions"),
                                on_summary=lambda p: called.append("summary"))
            answers.append({"secret": secret, "signature": header_kind, "verify": receiver.verify(body, header),
                            "handle_sync": outcome(lambda: receiver.handle_sync(body, header)), "called": called})
        try:
            text = Receiver().parse(body).to_text()
        except Exception:  # no payload (None) or a body the reference cannot read
            text = None
        rows.append({"id": f"receiver/{n}", "kind": kind, **body_fields(body), "headers": headers,
                     "reference": {"parse": outcome(lambda: Receiver().parse(body)), "text": text, "cases": answers}})
    return rows


# --- the context store -----------------------------------------------------------------------------

class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def time(self) -> float:
        return self.now


def store_options(rng: random.Random) -> dict:
    options = {}
    for key, values in (("include_summary", [True, False]), ("include_actions", [True, False]),
                        ("lookback_seconds", [60, 900]), ("max_actions", [1, 5, 30]), ("max_sessions", [1, 3, 10])):
        if rng.random() < 0.4:
            options[key] = rng.choice(values)
    return options


def get_options(rng: random.Random) -> dict:
    options = {}
    if rng.random() < 0.5:
        options["product_id"] = rng.choice(["prod_a", "prod_b", ""])
    for key, values in (("include_summary", [True, False]), ("include_actions", [True, False]),
                        ("lookback_seconds", [30, 600, None]), ("max_actions", [1, 3, None])):
        if rng.random() < 0.15:
            options[key] = rng.choice(values)
    return options


def store_rows(ref, rng: random.Random, count: int) -> list[dict]:
    clock = Clock()
    ref.context_store.time = clock  # the module's `time.time()` reads this clock
    sessions = ["ps_1", "ps_2", "ps_3", "ps_4"]
    rows = []
    for n in range(count):
        clock.now = NOW
        options = store_options(rng)
        store = ref.context_store.ContextStore(**options)
        ops = []
        for _ in range(rng.randint(4, 30)):
            roll = rng.random()
            session = rng.choice(sessions)
            if roll < 0.40:
                payload = actions_payload(rng, rng.choice(sessions + [None]), rng.choice(["prod_a", "prod_b", "", None]),
                                          clock.now - rng.choice([0, 0, 5, 30, 120, 700, 1000, 2000]) - rng.random())
                store.add(ref.models.ActionsPayload.from_dict(payload))
                ops.append({"op": "add", "payload": payload})
            elif roll < 0.50:
                text = words(rng, 1, 8)
                store.on_summary(session, text)
                ops.append({"op": "summary", "session": session, "text": text})
            elif roll < 0.68:
                o = get_options(rng)
                ops.append({"op": "get", "session": session, "options": o, "answer": store.get(session, **o)})
            elif roll < 0.76:
                o = get_options(rng)
                query = words(rng, 1, 5)
                ops.append({"op": "enrich", "session": session, "query": query, "options": o,
                            "answer": store.enrich(session, query, **o)})
            elif roll < 0.82:
                product = rng.choice([None, "prod_a"])
                store.reset(session, **({"product_id": product} if product is not None else {}))
                ops.append({"op": "reset", "session": session, **({"product_id": product} if product else {})})
            elif roll < 0.92:
                ops.append({"op": "sessions", "answer": store.active_sessions})
            else:
                seconds = rng.choice([10, 100, 1000])
                clock.now += seconds
                ops.append({"op": "tick", "seconds": seconds})
        ops.append({"op": "sessions", "answer": store.active_sessions})
        rows.append({"id": f"store/{n}", "options": options, "ops": ops})
    return rows


# --- the summarizers -----------------------------------------------------------------------------

PROMPTS = [None, "Summarise:\n{actions}\nDone.", "Twice: {actions} / {actions}", "No placeholder at all.",
           "Needs {actions} in {language}.", "Braces {{actions}} then {actions}"]


def summarizer_scenario(rng: random.Random) -> dict:
    options = {"threshold": rng.choice([1, 2, 3, 5, 10, 12])}
    if rng.random() < 0.4:
        options["prompt"] = rng.choice(PROMPTS[1:])
    if rng.random() < 0.4:
        options["max_sessions"] = rng.choice([1, 2, 5])
    failures = sorted(rng.sample(range(12), rng.choice([0, 0, 1, 3])))
    sessions = ["ps_1", "ps_2", "ps_3"]
    ops = []
    for _ in range(rng.randint(3, 25)):
        roll = rng.random()
        session = rng.choice(sessions)
        if roll < 0.7:
            ops.append({"op": "add", "payload": actions_payload(rng, rng.choice(sessions + [None]), "prod_a",
                                                                NOW - rng.randint(0, 60))})
        elif roll < 0.78:
            ops.append({"op": "reset", "session": session})
        elif roll < 0.9:
            ops.append({"op": "context", "session": session})
        else:
            ops.append({"op": "sessions"})
    ops.append({"op": "sessions"})
    return {"options": options, "failures": failures, "ops": ops}


def fake_llm(failures, prompts):
    def llm(prompt):
        n = len(prompts)
        prompts.append(prompt)
        if n in failures:
            raise RuntimeError("llm down")
        return f"summary {n} of {len(prompt)} characters"
    return llm


def run_sync(ref, scenario: dict) -> list[dict]:
    prompts, summaries, answers = [], [], []
    s = ref.summarizer.SessionSummarizer(fake_llm(set(scenario["failures"]), prompts),
                                         on_summary=lambda sid, text: summaries.append([sid, text]),
                                         **scenario["options"])
    for op in scenario["ops"]:
        before = (len(prompts), len(summaries))
        if op["op"] == "add":
            answer = outcome(lambda: s.add(ref.models.ActionsPayload.from_dict(op["payload"])))
        elif op["op"] == "reset":
            answer = outcome(lambda: s.reset(op["session"]))
        elif op["op"] == "context":
            answer = outcome(lambda: s.get_context(op["session"]))
        else:
            answer = outcome(lambda: s.active_sessions)
        answers.append({**answer, "prompts": prompts[before[0]:], "summaries": summaries[before[1]:]})
    return answers


def run_async(ref, scenario: dict) -> list[dict]:
    options = {k: v for k, v in scenario["options"].items() if k != "max_sessions"}  # the async class has none

    async def main():
        prompts, summaries, answers = [], [], []
        sync_llm = fake_llm(set(scenario["failures"]), prompts)

        async def llm(prompt):
            return sync_llm(prompt)

        async def on_summary(sid, text):
            summaries.append([sid, text])

        s = ref.summarizer.AsyncSessionSummarizer(llm, on_summary=on_summary, **options)
        for op in scenario["ops"]:
            before = (len(prompts), len(summaries))
            try:
                if op["op"] == "add":
                    await s.add(ref.models.ActionsPayload.from_dict(op["payload"]))
                    await s.flush()
                    answer = {"returns": None}
                elif op["op"] == "reset":
                    await s.reset(op["session"])
                    await s.flush()
                    answer = {"returns": None}
                elif op["op"] == "context":
                    answer = {"returns": await s.get_context(op["session"])}
                else:
                    answer = {"returns": await s.active_sessions}
            except Exception as error:
                answer = {"raises": type(error).__name__}
            answers.append({**answer, "prompts": prompts[before[0]:], "summaries": summaries[before[1]:]})
        return answers

    return asyncio.run(main())


def summarizer_rows(ref, rng: random.Random, count: int) -> list[dict]:
    rows = []
    for n in range(count):
        scenario = summarizer_scenario(rng)
        sync, answers = run_sync(ref, scenario), run_async(ref, scenario)
        rows.append({"id": f"summarizer/{n}", **scenario,
                     "reference": {"sync": sync, "async": "same" if answers == sync else answers}})
    return rows


# --- writing ---------------------------------------------------------------------------------------

def write(name: str, seed: int, rows: list[dict]) -> None:
    path = os.path.join(OUT, f"{name}.json")
    previous = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            previous = {row["id"]: row for row in json.load(f)["rows"]}
    kept = 0
    for row in rows:
        old = previous.get(row["id"])
        if old is not None and {k: v for k, v in old.items() if k not in ("tag", "ours")} == row:
            for key in ("tag", "ours"):
                if key in old:
                    row[key] = old[key]
            kept += "tag" in old
    os.makedirs(OUT, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"source": {"repository": REPO, "commit": COMMIT, "license": "MIT"},
                   "generator": "python3 spec/reference/generate.py <Autoplay-AI-SDK checkout>", "seed": seed,
                   }, f, ensure_ascii=False)
        f.seek(f.tell() - 1)
        f.write(', "rows": [\n')  # one row a line, so that a regeneration's diff reads row by row
        f.write(",\n".join(json.dumps(row, ensure_ascii=False) for row in rows))
        f.write("\n]}\n")
    print(f"{path}: {len(rows)} rows, {kept} tags kept")


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: python3 spec/reference/generate.py <Autoplay-AI-SDK clone or bare mirror>")
    ref = load(os.path.abspath(sys.argv[1]))
    write("receiver", 2301, receiver_rows(ref, random.Random(2301)))
    write("context-store", 2302, store_rows(ref, random.Random(2302), 150))
    write("summarizer", 2303, summarizer_rows(ref, random.Random(2303), 150))


if __name__ == "__main__":
    main()
