#!/usr/bin/env python3
"""Records the vendor SDK's own answers as fixtures our specs replay (spec/reference/*.spec.ts).

Source: Autoplay-AI/Autoplay-AI-SDK (MIT), commit d82a2fd1e93059601540bd3286219e553510623a.
Only answers are written (spec/reference/fixtures/*.json), never the vendor's code. Its package
`__init__` imports httpx and rich, so the four modules needed (models, webhook_receiver,
context_store, summarizer, and what they import) are loaded by path from the commit.

Regenerate (a clone or a bare mirror of the repository; nothing else is read):

    python3 spec/reference/generate.py /path/to/Autoplay-AI-SDK

Scenarios are seeded, so a rerun writes the same files. Each named difference is a subclass of the
reference's class below; a row is tagged with the differences that change its answers, and `ours`
holds what the reference changed by all of them answers (the spec requires exactly that of ours).
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
import math
import os
import random
import re
import subprocess
import sys
import tempfile
import types

COMMIT = "d82a2fd1e93059601540bd3286219e553510623a"
REPO = "Autoplay-AI/Autoplay-AI-SDK"
MODULES = ["exceptions", "metrics", "models", "webhook_receiver", "summarizer", "context_store",
           "integrations/usertour_sse"]
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures")
NOW = 1_700_000_000.0  # the clock every context scenario starts at, in seconds
SECRET = "whsec_parity"

logging.disable(logging.CRITICAL)  # the reference logs every failure it recovers from


def load(repo: str, modules=MODULES, keys=None) -> types.SimpleNamespace:
    """The reference's modules at COMMIT, imported from a temporary copy without the packages' __init__ files
    (directories without one are namespace packages under the stub): each by its file's name, or `keys`'."""
    git = ["git", "--git-dir", repo] if not os.path.isdir(os.path.join(repo, ".git")) else ["git", "-C", repo]
    root = tempfile.mkdtemp(prefix="autoplay-sdk-")
    package = os.path.join(root, "autoplay_sdk")
    for name in modules:
        text = subprocess.run(git + ["show", f"{COMMIT}:autoplay_sdk/{name}.py"], check=True,
                              capture_output=True).stdout
        path = os.path.join(package, f"{name}.py")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(text)
    stub = types.ModuleType("autoplay_sdk")
    stub.__path__ = [package]
    sys.modules["autoplay_sdk"] = stub
    return types.SimpleNamespace(**{(keys or {}).get(name, name.split("/")[-1]):
                                    importlib.import_module("autoplay_sdk." + name.replace("/", ".")) for name in modules})


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
    if isinstance(value, float) and value != value or value in (float("inf"), float("-inf")):
        return {"float": repr(value)}  # JSON has no NaN nor infinity
    return value


def outcome(call):
    try:
        return {"returns": plain(call())}
    except Exception as error:  # the answer is the exception's class, as a caller would catch it
        return {"raises": type(error).__name__}


# --- the receiver and the models -----------------------------------------------------------------

def receiver_bodies(rng: random.Random) -> list:
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
           b"{\"type\":\"summary\",\"forwarded_at\":NaN}", b"{\"type\":\"summary\",\"forwarded_at\":1e999}",
           b"{\"type\":\"actions\",\"session_id\":\"prod_a\\u001fps_victim\",\"actions\":[]}",
           b"{\"type\":\"actions\",\"actions\":[{\"index\":true}]}", b"{\"type\":\"summary\",\"replaces\":2.0}",
           b"{\"type\":\"summary\",\"replaces\":9007199254740993}", b"{\"type\":\"summary\",\"x\":" + b"[" * 5000 + b"]" * 5000 + b"}",
           "{\"type\":\"summary\",\"summary\":\"utf-16\"}".encode("utf-16"),
           "{\"type\":\"summary\",\"summary\":\"utf-16-le\"}".encode("utf-16-le"),
           "{\"type\":\"summary\",\"summary\":\"utf-32\"}".encode("utf-32")]
    return bodies + [("odd", b) for b in odd]


def usertour_bodies(ref, rng: random.Random) -> list:
    """`usertour_trigger` events as the reference's own builders make them (integrations/usertour_sse.py), blank
    and padded ids included: what our codec must read as docs/protocol.md says."""
    sse = ref.usertour_sse
    blanks = [None, "", "  ", "ps_1", " ps_2 ", "ps_☃"]
    bodies = []
    for i in range(24):
        product, flow = rng.choice(["prod_a", "", "prod_日本"]), rng.choice(["flow_42", "f-1", "", "flow 🙂"])
        if i % 3 == 0:
            built = sse.usertour_trigger_sse_minimal_dict(product_id=product, flow_id=flow,
                                                         session_id=rng.choice(blanks[1:]))
        else:
            built = sse.usertour_trigger_sse_dict(product_id=product, flow_id=flow, reason=words(rng, 0, 6),
                                                  user_id=rng.choice([None, "", " u_1 ", "u_2"]),
                                                  session_id=rng.choice(blanks))
        bodies.append(("usertour", json.dumps(built, ensure_ascii=rng.random() < 0.5).encode()))
    return bodies


def receiver_answers(Receiver, kind: str, body: bytes) -> dict:
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
        sync = outcome(lambda: receiver.handle_sync(body, header))
        handle = outcome(lambda: asyncio.run(receiver.handle(body, header)))  # its async door, callbacks awaited
        answers.append({"secret": secret, "signature": header_kind, "verify": receiver.verify(body, header),
                        "handle_sync": sync, "handle": handle, "called": called})
    try:
        text = Receiver().parse(body).to_text()
    except Exception:  # no payload (None) or a body the reference cannot read
        text = None
    return {"headers": headers, "answers": [outcome(lambda: Receiver().parse(body)), text, *answers]}


def receiver_rows(ref, rng: random.Random) -> list[dict]:
    rows = []
    kinds = receiver_differences(ref)
    for n, (kind, body) in enumerate(receiver_bodies(rng) + usertour_bodies(ref, random.Random(2304))):
        reference = receiver_answers(ref.webhook_receiver.WebhookReceiver, kind, body)
        row = {"id": f"receiver/{n}", "kind": kind, **body_fields(body), "headers": reference["headers"],
               "answers": reference["answers"]}
        tag_row(row, [(name, receiver_answers(cls, kind, body)) for name, cls in kinds.items()],
                receiver_answers(all_of(kinds), kind, body))
        rows.append(row)
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


def store_scenario(ref, rng: random.Random, store_class) -> dict:
    clock = Clock()
    ref.context_store.time = clock  # the module's `time.time()` reads this clock
    sessions = ["ps_1", "ps_2", "ps_3", "ps_4"]
    clock.now = NOW
    options = store_options(rng)
    store = store_class(**options)
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
    return {"options": options, "ops": ops}


def store_rows(ref, seed: int, count: int) -> list[dict]:
    """Each scenario run on the reference, then on the reference changed by each named difference."""
    rows = []
    for n in range(count):
        row = {"id": f"store/{n}", **store_scenario(ref, random.Random(f"{seed}/{n}"), ref.context_store.ContextStore)}
        tag_row(row, [(name, store_scenario(ref, random.Random(f"{seed}/{n}"), cls))
                      for name, cls in store_differences(ref).items()],
                store_scenario(ref, random.Random(f"{seed}/{n}"), all_of(store_differences(ref))))
        rows.append(row)
    return rows


def answers(scenario: dict) -> list:
    if "answers" in scenario:
        return scenario["answers"]
    return [op["answer"] for op in scenario["ops"] if "answer" in op]


def all_of(classes: dict):
    """Every named difference of a component at once (each a subclass calling super(), so they compose)."""
    classes = list(classes.values())
    return type("Ours", tuple(classes), {}) if len(classes) > 1 else classes[0]


def tag_row(row: dict, each: list, ours: dict, reference=None) -> None:
    """Tags a row with the named differences that change its answers; `ours` is what all of them together give."""
    reference, changed = reference if reference is not None else answers(row), answers(ours)
    names = [name for name, scenario in each if answers(scenario) != reference]
    if changed == reference and not names:
        return
    row["tag"] = "differs: " + ", ".join(names)
    row["ours"] = {str(i): {"reference": r, "ours": o} for i, (r, o) in enumerate(zip(reference, changed)) if r != o}


# --- the named differences, each a change to the reference's class (docs/context.md's parity table) ---

def store_differences(ref) -> dict:
    base = ref.context_store.ContextStore

    class EmptyBucketGoes(base):
        """A bucket left with no batch in the lookback (an empty batch counts while it is in it) is removed, so
        activeSessions does not list it (its docstring: "at least one stored action or summary") and it takes no
        place under maxSessions, where it would push out a live bucket."""
        def add(self, payload):
            key = ref.context_store.actions_bucket_id(payload.product_id, payload.session_id or "unknown")
            before = (self._actions.copy(), self._summaries.copy())
            super().add(payload)
            with self._lock:
                if not self._actions.get(key, True) and key not in self._summaries:
                    del self._actions[key]
                    if key not in before[0]:  # a key that never holds a batch evicts no other
                        self._actions, self._summaries = before

    class EmptyBucketsNotRead(base):
        """Without a productId, a bucket holding only empty batches is passed over: the session's own does not hide
        its one product bucket, and a product bucket of empty batches is not one of "several"."""
        def get(self, session_id, *, product_id=None, **options):
            if (product_id or "").strip():
                return super().get(session_id, product_id=product_id, **options)
            with self._lock:
                empty = {key: held for key, held in self._actions.items() if held and not any(p.actions for p in held)
                         and (key == session_id or key.endswith("\x1f" + session_id))}
                for key in empty:
                    self._actions[key] = []  # read as no bucket; its place in the LRU order kept
            try:
                return super().get(session_id, product_id=product_id, **options)
            finally:
                with self._lock:
                    self._actions.update(empty)

    return {"empty-bucket-removed": EmptyBucketGoes, "empty-buckets-not-read": EmptyBucketsNotRead}


CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
SAFE = 2 ** 53 - 1


def wrong_type(raw: dict) -> bool:
    """Whether a field has a JSON type our codec refuses (null or absent always take the default)."""
    def text(v): return v is None or isinstance(v, str)
    def number(v): return v is None or type(v) in (int, float)  # non-finite: finite-numbers-only
    def integer(v): return v is None or (number(v) and math.isfinite(v) and float(v).is_integer() and abs(v) <= SAFE)
    if raw.get("type") == "summary":
        checks = [text(raw.get(k)) for k in ("product_id", "session_id", "summary")]
        return not all(checks + [integer(raw.get("replaces")), number(raw.get("forwarded_at"))])
    actions = raw.get("actions")
    if actions is not None and not (isinstance(actions, list) and all(isinstance(a, dict) for a in actions)):
        return True
    checks = [text(raw.get(k)) for k in ("product_id", "session_id", "user_id", "email", "conversation_id")]
    checks += [integer(raw.get("count")), number(raw.get("forwarded_at"))]
    for a in actions or []:
        checks += [text(a.get(k)) for k in ("type", "title", "description", "canonical_url", "raw_url", "session_id",
                                             "user_id", "email", "conversation_id")]
        checks += [integer(a.get("index")), number(a.get("timestamp_start")), number(a.get("timestamp_end"))]
    return not all(checks)


def ids(raw: dict) -> list:
    found = [raw.get(k) for k in ("product_id", "session_id", "user_id", "email", "conversation_id")]
    for a in raw.get("actions") or [] if isinstance(raw.get("actions"), list) else []:
        if isinstance(a, dict):
            found += [a.get(k) for k in ("session_id", "user_id", "email", "conversation_id")]
    return [v for v in found if isinstance(v, str)]


def receiver_differences(ref) -> dict:
    base = ref.webhook_receiver.WebhookReceiver

    def event(body):
        """The body as ours reads it: UTF-8 (one leading BOM dropped), JSON without NaN or infinities."""
        def refuse(name): raise ValueError(name)
        return json.loads(body.decode("utf-8-sig"), parse_constant=refuse)

    class NotAnEventRefused(base):
        """A body that is no JSON object (not UTF-8, nested deeper than the parser goes, JSON of another kind):
        the reference raises from parse and handle; ours answers None (a typed refusal on rejected$)."""
        def parse(self, body):
            try:
                raw = json.loads(body)
            except json.JSONDecodeError:
                return super().parse(body)
            except UnicodeDecodeError:  # the reference lets it through
                return None
            except RecursionError:
                return super().parse(body)  # deep-nesting-read
            return super().parse(body) if isinstance(raw, dict) else None

    class DeepNestingRead(base):
        """JSON nested deeper than Python's recursion limit (about 1,000 levels), which the reference raises on: ours
        reads it as the JavaScript engine does (thousands of levels; past the engine's limit it is MalformedJson)."""
        def parse(self, body):
            limit = sys.getrecursionlimit()
            sys.setrecursionlimit(100_000)
            try:
                return super().parse(body)
            finally:
                sys.setrecursionlimit(limit)

    class Utf8Only(base):
        """JSON in UTF-16 or UTF-32, which the reference's json.loads detects and reads: ours reads UTF-8 only."""
        def parse(self, body):
            try:
                body.decode("utf-8")
            except UnicodeDecodeError:
                return None if body[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in body else super().parse(body)
            return None if b"\x00" in body else super().parse(body)

    class FiniteNumbersOnly(base):
        """NaN and numbers too large for a double (JSON has neither): the reference keeps nan and inf."""
        def parse(self, body):
            try:
                event(body)
            except ValueError as error:
                if str(error) in ("NaN", "Infinity", "-Infinity"):
                    return None
            except Exception:
                pass
            try:
                raw = json.loads(body)
            except Exception:
                return super().parse(body)
            if isinstance(raw, dict) and any(isinstance(v, float) and not math.isfinite(v) for v in raw.values()):
                return None
            return super().parse(body)

    class WrongTypeRefused(base):
        """A field of the wrong JSON type refuses the event; the reference keeps the value as sent."""
        def parse(self, body):
            try:
                raw = json.loads(body)
            except Exception:
                return super().parse(body)
            if isinstance(raw, dict) and raw.get("type") in ("actions", "summary") and wrong_type(raw):
                return None
            return super().parse(body)

    class ControlCharactersRefused(base):
        """An id holding a control character (the stores' key separator U+001F among them) refuses the event."""
        def parse(self, body):
            try:
                raw = json.loads(body)
            except Exception:
                return super().parse(body)
            if isinstance(raw, dict) and raw.get("type") in ("actions", "summary") and any(CONTROL.search(v) for v in ids(raw)):
                return None
            return super().parse(body)

    return {"not-an-event-refused": NotAnEventRefused, "deep-nesting-read": DeepNestingRead, "utf8-only": Utf8Only, "finite-numbers-only": FiniteNumbersOnly,
            "wrong-type-refused": WrongTypeRefused, "control-characters-refused": ControlCharactersRefused}


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


def run_sync(ref, scenario: dict, cls=None) -> list[dict]:
    prompts, summaries, answers = [], [], []
    s = (cls or ref.summarizer.SessionSummarizer)(fake_llm(set(scenario["failures"]), prompts),
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


def run_async(ref, scenario: dict, cls=None) -> list[dict]:
    options = {k: v for k, v in scenario["options"].items() if k != "max_sessions"}  # the async class has none

    async def main():
        prompts, summaries, answers = [], [], []
        sync_llm = fake_llm(set(scenario["failures"]), prompts)

        async def llm(prompt):
            return sync_llm(prompt)

        async def on_summary(sid, text):
            summaries.append([sid, text])

        s = (cls or ref.summarizer.AsyncSessionSummarizer)(llm, on_summary=on_summary, **options)
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
    sync_kinds = summarizer_differences(ref, ref.summarizer.SessionSummarizer, False)
    async_kinds = summarizer_differences(ref, ref.summarizer.AsyncSessionSummarizer, True)
    for n in range(count):
        scenario = summarizer_scenario(rng)
        sync, answers = run_sync(ref, scenario), run_async(ref, scenario)
        row = {"id": f"summarizer/{n}", **scenario,
               "reference": {"sync": sync, "async": "same" if answers == sync else answers}}
        tag_row(row, [(name, {"answers": run_sync(ref, scenario, cls)}) for name, cls in sync_kinds.items()],
                {"answers": run_sync(ref, scenario, all_of(sync_kinds))}, sync)
        mode = {}
        tag_row(mode, [(name, {"answers": run_async(ref, scenario, cls)}) for name, cls in async_kinds.items()],
                {"answers": run_async(ref, scenario, all_of(async_kinds))}, answers)
        if mode:
            row["async"] = mode
        rows.append(row)
    return rows


def summarizer_differences(ref, base, is_async: bool) -> dict:
    def restore(self, session_id, history):
        """The reference's own way to keep a history it could not summarise."""
        self._history[session_id] = history + self._history.get(session_id, [])
        self._counts[session_id] = self._counts.get(session_id, 0) + sum(len(p.actions) for p in history)

    class PromptNeedsActions(base):
        """A template without {actions} is refused (PromptWithoutActions on errors$, the history kept) instead of
        sending the LLM a prompt that holds none of the session."""
        if is_async:
            async def _summarise(self, session_id, history):
                if "{actions}" in self._prompt_template:
                    return await super()._summarise(session_id, history)
                async with self._state_lock:
                    restore(self, session_id, history)
        else:
            def _summarise(self, session_id, history):
                if "{actions}" in self._prompt_template:
                    return super()._summarise(session_id, history)
                with self._lock:
                    restore(self, session_id, history)

    class Literal(str):
        def format(self, actions):  # every {actions} replaced as written; other braces are text
            return str.replace(self, "{actions}", actions)

    class PromptLiteral(base):
        """Only {actions} is replaced, literally: `{{actions}}` and `{other}` are text, where the reference's
        str.format turns `{{` into `{` and refuses `{other}` (KeyError: no call, the history kept)."""
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._prompt_template = Literal(self._prompt_template)

    kinds = {"prompt-needs-actions": PromptNeedsActions, "prompt-literal": PromptLiteral}
    if not is_async:
        class SessionsSorted(base):
            """activeSessions is sorted (as the reference's async class sorts), not in least-recently-used order."""
            @property
            def active_sessions(self):
                return sorted(super().active_sessions)
        kinds["sessions-sorted"] = SessionsSorted
    return kinds


# --- writing ---------------------------------------------------------------------------------------

def write(name: str, seed: int, rows: list[dict], script: str = "generate.py") -> None:
    path = os.path.join(OUT, f"{name}.json")
    os.makedirs(OUT, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"source": {"repository": REPO, "commit": COMMIT, "license": "MIT"},
                   "generator": f"python3 spec/reference/{script} <Autoplay-AI-SDK checkout>", "seed": seed,
                   }, f, ensure_ascii=False)
        f.seek(f.tell() - 1)
        f.write(', "rows": [\n')  # one row a line, so that a regeneration's diff reads row by row
        f.write(",\n".join(json.dumps(row, ensure_ascii=False) for row in rows))
        f.write("\n]}\n")
    print(f"{path}: {len(rows)} rows, {sum('tag' in row for row in rows)} tagged")


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: python3 spec/reference/generate.py <Autoplay-AI-SDK clone or bare mirror>")
    ref = load(os.path.abspath(sys.argv[1]))
    write("receiver", 2301, receiver_rows(ref, random.Random(2301)))
    write("context-store", 2302, store_rows(ref, 2302, 150))
    write("summarizer", 2303, summarizer_rows(ref, random.Random(2303), 150))


if __name__ == "__main__":
    main()
