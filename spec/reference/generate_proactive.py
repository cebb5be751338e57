#!/usr/bin/env python3
"""Records the vendor SDK's own proactive-trigger answers as fixtures spec/reference/proactive.spec.ts replays.

Source: Autoplay-AI/Autoplay-AI-SDK (MIT), commit d82a2fd1e93059601540bd3286219e553510623a. Only answers are
written (spec/reference/fixtures/proactive-*.json), never the vendor's code. Its package `__init__` files import
httpx and rich, so the modules needed (models, proactive_triggers/*, integrations/intercom) are loaded by path
from the commit under a stub `autoplay_sdk` package, as spec/reference/generate.py (issue 23) loads its own.

Regenerate (a clone or a bare mirror of the repository; nothing else is read):

    python3 spec/reference/generate_proactive.py /path/to/Autoplay-AI-SDK

Scenarios are seeded, so a rerun writes the same files. A named difference is a change to the reference's own
class or function, written below; a row whose answers change under it is tagged `differs: <id>`, and `ours`
records what the changed reference answers (docs/proactive.md's parity table names each one).
"""
from __future__ import annotations

import dataclasses
import importlib
import json
import logging
import os
import random
import subprocess
import sys
import tempfile
import time
import types

from generate import load, tag_row, write  # one loader, one tagging rule, one file format for every fixture

MODULES = ["models", "proactive_triggers/scope", "proactive_triggers/defaults", "proactive_triggers/types",
           "proactive_triggers/judge", "proactive_triggers/entity", "proactive_triggers/registry",
           "proactive_triggers/predicate_trigger", "proactive_triggers/section_activity",
           "proactive_triggers/url_scope", "integrations/intercom", "proactive_triggers/triggers/canonical_ping_pong",
           "proactive_triggers/triggers/scoped_canonical_ping_pong", "proactive_triggers/triggers/user_page_dwell",
           "proactive_triggers/triggers/section_playbook", "proactive_triggers/tour_registry", "agent_state_v2/types",
           "agent_state_v2/session_state", "proactive_resilience/config", "proactive_resilience/circuit"]
NOW = 1_700_000_000.0  # the clock every scenario starts near, in seconds

logging.disable(logging.CRITICAL)  # the reference logs scope violations it raises on


class Clock:
    """The session scenarios' clock: agent_state_v2 reads time.monotonic(), and binds it as a dataclass default
    factory when imported, so it is replaced before the import (in this process only)."""
    now = 0.0


CLOCK = Clock()
time.monotonic = lambda: CLOCK.now


# --- random inputs -------------------------------------------------------------------------------

# Blank and oddly spaced URLs among them: Python's strip (U+001F and U+0085 are space, U+FEFF is not).
URLS = ["https://app.example.com/projects/:id", "https://app.example.com/projects", "https://app.example.com/settings",
        "https://app.example.com/settings/billing", "https://app.example.com/dashboard", "/relative/:id", "", " ",
        " https://app.example.com/projects ", "\x1fhttps://app.example.com/settings", "\ufeff/relative/:id",
        "https://app.example.com/dashboard\x85", None, "missing"]
# Past the 512 code points dwell metadata keeps, in characters of two UTF-16 units.
LONG = "https://app.example.com/caf\u00e9/" + "\U0001d4b3" * 500
TYPES = ["pageview", "click", "submit", ""]


class Counter:
    """Gives every action a distinct `index`, so that an answer names the actions it kept."""
    def __init__(self) -> None:
        self.n = 0

    def next(self) -> int:
        self.n += 1
        return self.n


def url(rng: random.Random, sticky: list, long: float) -> dict:
    """A canonical URL field: often the previous one again (streaks and back-and-forth), else a random one."""
    if sticky and rng.random() < 0.45:
        choice = rng.choice(sticky[-3:])
    else:
        choice = LONG if rng.random() < long else rng.choice(URLS)
    sticky.append(choice)
    return {} if choice == "missing" else {"canonical_url": choice}


def moment(rng: random.Random, base: float) -> float:
    """A time near `base`: whole seconds, sixteenths (round(x, 3) ties) or any fraction."""
    roll = rng.random()
    if roll < 0.4:
        return base + rng.randint(0, 30)
    if roll < 0.7:
        return base + rng.randint(0, 480) / 16
    return base + rng.random() * 90


def action(rng: random.Random, counter: Counter, sticky: list, at: float, instant: bool, long: float) -> dict:
    start = moment(rng, at)
    roll = rng.random()
    end = start if instant or roll < 0.25 else start - rng.randint(1, 5) if roll < 0.3 else moment(rng, start)
    return {"index": counter.next(), "type": rng.choice(TYPES), **url(rng, sticky, long), "timestamp_start": start,
            "timestamp_end": end}


def payloads(rng: random.Random, spread: float, instant=False, long=0.01) -> list:
    """One session's batches in arrival order; `forwarded_at` mostly rising, sometimes not, some on the cutoff.
    With `instant`, every action ends as it starts (no dwell: ties that visits and ids break)."""
    counter, sticky, out = Counter(), [], []
    at = NOW - spread
    for _ in range(rng.randint(0, 7)):
        at += rng.choice([0, 1, 5, 20, 60, 90]) + rng.choice([0, 0, 0.25, rng.random()])
        forwarded = rng.choice([at, at, at, NOW - 120, NOW - 120.000001, NOW - 119.75, at - 200])
        actions = [action(rng, counter, sticky, forwarded - 60, instant, long) for _ in range(rng.choice([0, 1, 1, 2, 3, 5, 9]))]
        out.append({"type": "actions", "product_id": "prod_a", "session_id": "ps_1", "user_id": None, "email": None,
                    "conversation_id": rng.choice([None, None, "conv_1"]), "actions": actions, "count": len(actions),
                    "forwarded_at": forwarded})
    return out


def parse(ref, wire: list) -> list:
    return [ref.models.ActionsPayload.from_dict(p) for p in wire]


def context(ref, wire: list, now: float, options: dict, extra=None):
    return ref.types.ProactiveTriggerContext.from_actions_payloads(
        parse(ref, wire), now=now, session_id="ps_1", product_id="prod_a", context_extra=extra,
        scope_policy=ref.scope.ScopePolicy.LENIENT, **options)


# --- context building ------------------------------------------------------------------------------

def context_queries(rng: random.Random) -> list:
    queries = []
    for _ in range(rng.randint(1, 4)):
        options = {}
        if rng.random() < 0.6:
            options["lookback_seconds"] = rng.choice([30, 119.75, 120, 120, 600, None, None, 0 if rng.random() < 0.3 else 60])
        if rng.random() < 0.6:
            options["max_actions"] = rng.choice([1, 2, 3, 7, 50, None, 0 if rng.random() < 0.3 else 4])
        queries.append({"options": options, "now": NOW + rng.choice([0, 0, 0.5, 30, 200])})
    return queries


def context_answer(ref, wire: list, query: dict) -> dict:
    try:
        ctx = context(ref, wire, query["now"], query["options"])
    except ValueError:
        return {"refused": True}
    return {"actions": [a.index for a in ctx.recent_actions], "canonical_urls": list(ctx.canonical_urls)}


def context_rows(ref, seed: int, count: int) -> list:
    rows = []
    for n in range(count):
        rng = random.Random(f"{seed}/{n}")
        wire = payloads(rng, rng.choice([0, 60, 300]))
        queries = context_queries(rng)
        rows.append({"id": f"context/{n}", "payloads": wire, "queries": queries,
                     "answers": [context_answer(ref, wire, q) for q in queries]})
    return rows


# --- triggers and the registry ---------------------------------------------------------------------

SECTIONS = ["projects", "settings", "billing", "other", "general", "dashboard"]
RULES = [{"prefix": "https://app.example.com/projects", "section_id": "projects"},
         {"prefix": "https://app.example.com/settings/billing", "section_id": "billing"},
         {"prefix": "https://app.example.com/settings", "section_id": "settings"},
         {"prefix": "https://app.example.com/dashboard", "section_id": " dashboard "},
         {"prefix": " ", "section_id": "blank_prefix"}, {"prefix": "/relative", "section_id": ""}]
BODIES = ["Need help with your projects?", "  spaced out  ", "", " ", "x" * 149 + " yz", "\U0001f642" * 160,
          "a" * 150 + "\u3000b", "Questions about billing?"]
LABELS = [["Upgrade plan", "View invoices"], ["", " ", "Go"], [], ["\x1f", "ok\x85"]]
PREDICATES = ["always", "never", "min_actions:3", "min_actions:8", "url_contains:projects", "last_type:click"]


def playbook_row(rng: random.Random):
    roll = rng.random()
    if roll < 0.45:
        return rng.choice(BODIES)
    if roll < 0.9:
        row = {"body": rng.choice(BODIES)}
        if rng.random() < 0.6:
            row["reply_option_labels"] = rng.choice(LABELS)
        return row
    return None


def trigger_spec(rng: random.Random, kind: str) -> dict:
    spec = {"kind": kind}
    if kind == "ping_pong":
        if rng.random() < 0.5:
            spec["min_cycles"] = rng.choice([1, 2, 3, 0])
        if rng.random() < 0.3:
            spec["url_contains"] = rng.choice(["projects", " settings ", "", "nowhere"])
    elif kind == "dwell":
        if rng.random() < 0.7:
            spec["threshold"] = rng.choice([1, 5, 5, 20, 20, 60, 90.5, 0 if rng.random() < 0.3 else 10])
        if rng.random() < 0.5:
            spec["max_actions"] = rng.choice([1, 2, 5, 10, 0 if rng.random() < 0.3 else 3])
        if rng.random() < 0.3:
            spec["body"] = rng.choice(BODIES)
    elif kind == "section":
        spec["rules"] = rng.sample(RULES, rng.randint(0, len(RULES))) if rng.random() < 0.9 else []
        if rng.random() < 0.4:
            spec["fallback"] = rng.choice(["general", " ", "  other  "])
        spec["playbook"] = {s: playbook_row(rng) for s in rng.sample(SECTIONS, rng.randint(0, len(SECTIONS)))}
        if rng.random() < 0.3:
            spec["current"] = rng.choice(SECTIONS + [" settings ", "", "unknown"])
    else:
        spec.update({"id": rng.choice(["checkout_hesitation", "busy"]), "body": rng.choice(BODIES),
                     "when": rng.choice(PREDICATES)})
        if rng.random() < 0.4:
            spec["labels"] = rng.choice(LABELS)
        if rng.random() < 0.3:
            spec["metadata"] = {"reason": "volume"}
        if rng.random() < 0.3:
            spec["metadata_fn"] = rng.choice(["count", "last_url"])
    if rng.random() < 0.3:
        spec["timings"] = {"interaction_timeout_s": rng.choice([5, 15.5]), "cooldown_s": rng.choice([60, 0.25])}
    return spec


def when(name: str):
    kind, _, arg = name.partition(":")
    return {"always": lambda ctx: True, "never": lambda ctx: False,
            "min_actions": lambda ctx: len(ctx.recent_actions) >= int(arg or 0),
            "url_contains": lambda ctx: any(arg in (u or "") for u in ctx.canonical_urls),
            "last_type": lambda ctx: bool(ctx.recent_actions) and ctx.recent_actions[-1].type == arg}[kind]


METADATA_FNS = {"count": lambda ctx: {"actions": len(ctx.recent_actions)},
                "last_url": lambda ctx: {"last_url": ctx.canonical_urls[-1] if ctx.canonical_urls else None}}


def build(ref, spec: dict, kinds: dict):
    """The reference's trigger for a spec (`kinds` may swap a class for a changed one)."""
    if spec["kind"] == "ping_pong":
        if "url_contains" in spec:
            inner = kinds["scoped"](url_must_contain=spec["url_contains"], min_cycles=spec.get("min_cycles", 1))
        else:
            inner = kinds["ping_pong"](min_cycles=spec.get("min_cycles", 1))
    elif spec["kind"] == "dwell":
        inner = kinds["dwell"]()
    elif spec["kind"] == "section":
        inner = kinds["section"]()
    else:
        inner = kinds["predicate"](trigger_id=spec["id"], body=spec["body"], predicate=when(spec["when"]),
                                   reply_option_labels=spec.get("labels", ()), metadata=spec.get("metadata"),
                                   metadata_fn=METADATA_FNS.get(spec.get("metadata_fn")))
    if "timings" in spec:
        inner = ref.entity.ProactiveTriggerEntity(inner, ref.types.ProactiveTriggerTimings(**spec["timings"]))
    return inner


def extra_for(ref, specs: list, actions) -> dict:
    """The host's `context_extra` for the specs (at most one dwell and one section spec share it)."""
    extra = {}
    for spec in specs:
        if spec["kind"] == "dwell":
            for key, name in (("threshold", "dwell_threshold_seconds"), ("max_actions", "user_page_dwell_max_actions"),
                              ("body", "dwell_proactive_body")):
                if key in spec:
                    extra[name] = spec[key]
        elif spec["kind"] == "section":
            extra["section_playbook"] = spec["playbook"]
            if "current" in spec:
                extra["current_section_id"] = spec["current"]
            # As the connector attaches it: the sections of the same window's actions, by the same rules.
            extra["product_section_playbook"] = ref.section_activity.build_product_section_playbook(
                actions, rules=spec["rules"], fallback_id=spec.get("fallback"))
    return extra


def result_json(result):
    if result is None:
        return None
    return {"trigger_id": result.trigger_id, "body": result.body, "reply_option_labels": list(result.reply_option_labels),
            "metadata": result.metadata, "interaction_timeout_s": result.interaction_timeout_s,
            "cooldown_s": result.cooldown_s}


def trigger_answers(ref, scenario: dict, kinds: dict) -> list:
    """The registry's first match and all matches, or a refusal when building or evaluating raises."""
    try:
        ctx = context(ref, scenario["payloads"], scenario["now"], {})
        ctx = dataclasses.replace(ctx, context_extra={**extra_for(ref, scenario["triggers"], ctx.recent_actions),
                                                      "eval_now": scenario["now"]})
        registry = ref.registry.ProactiveTriggerRegistry([build(ref, s, kinds) for s in scenario["triggers"]])
        return [result_json(registry.evaluate_first(ctx)), [result_json(r) for r in registry.evaluate_all(ctx)]]
    except ValueError:
        return [{"refused": True}, {"refused": True}]


def trigger_rows(ref, name: str, seed: int, count: int, kinds_of) -> list:
    rows = []
    base, differences = reference_kinds(ref), named_differences(ref)
    for n in range(count):
        rng = random.Random(f"{seed}/{n}")
        wire = payloads(rng, rng.choice([0, 30, 100]), rng.random() < 0.3, 0.1 if name == "dwell" else 0.01)
        specs = [trigger_spec(rng, kind) for kind in kinds_of(rng)]
        scenario = {"triggers": specs, "payloads": wire, "now": NOW + rng.choice([0, 0, 10, 45.5, 61, 200])}
        row = {"id": f"{name}/{n}", **scenario, "answers": trigger_answers(ref, scenario, base)}
        tag_row(row, [(d, {"answers": trigger_answers(ref, scenario, {**base, **changed})})
                      for d, changed in differences.items()],
                {"answers": trigger_answers(ref, scenario, all_differences(base, differences))})
        rows.append(row)
    return rows


def registry_kinds(rng: random.Random) -> list:
    """An ordered registry: any triggers, at most one dwell and one section (they share context_extra)."""
    kinds = [rng.choice(["ping_pong", "predicate"]) for _ in range(rng.randint(0, 3))]
    kinds += rng.sample(["dwell", "section"], rng.randint(0, 2))
    rng.shuffle(kinds)
    return kinds


def reference_kinds(ref) -> dict:
    return {"ping_pong": ref.canonical_ping_pong.CanonicalPingPongTrigger,
            "scoped": ref.scoped_canonical_ping_pong.ScopedCanonicalPingPongTrigger,
            "dwell": ref.user_page_dwell.UserPageDwellTrigger, "section": ref.section_playbook.SectionPlaybookTrigger,
            "predicate": ref.predicate_trigger.PredicateProactiveTrigger}


# --- the session state machine (agent_state_v2) --------------------------------------------------------

EVENTS = ["tick"] * 5 + ["offered"] * 3 + ["opened-chat", "wrote", "clicked", "clicked", "reacted", "tour-step",
                                           "tour-started", "tour-started", "tour-ended"]
TOURS = {"tour_a": [3, 100], "tour_b": [40, 0.25]}


def session_scenario(rng: random.Random) -> dict:
    options = {}
    if rng.random() < 0.5:
        options["interaction_timeout_s"] = rng.choice([5, 10, 20.5])
    if rng.random() < 0.5:
        options["cooldown_period_s"] = rng.choice([0.5, 30, 60])
    steps = []
    for _ in range(rng.randint(3, 40)):
        step = {"advance": rng.choice([0, 0, 0.1, 0.25, 1, 3, 5, 10, 20, 20.5, 30, 40, 60, 100]), "event": rng.choice(EVENTS)}
        if step["event"] == "tour-started":
            step["tour_id"] = rng.choice(["tour_a", "tour_b", "tour_x", "", None])
        steps.append(step)
    return {"options": options, "tours": TOURS if rng.random() < 0.6 else None, "steps": steps}


def session_answers(ref, scenario: dict) -> list:
    """After each step: why the call was refused (raised: `state`; an offer answered False: `cooldown`) and the state."""
    CLOCK.now = 1000.0
    s = ref.session_state.SessionState(**scenario["options"])
    registry = None
    if scenario["tours"] is not None:
        registry = ref.tour_registry.TourRegistry("prod_a", [ref.tour_registry.TourDefinition(
            id=f"chip_{tid}", user_tour_id=tid, interaction_timeout_s=t, cooldown_period_s=c)
            for tid, (t, c) in scenario["tours"].items()])
    calls = {"tick": lambda step: s.tick(registry), "offered": lambda step: s.transition_to_proactive("busy"),
             "opened-chat": lambda step: s.transition_to_reactive(), "wrote": lambda step: s.record_user_interaction(),
             "clicked": lambda step: s.record_option_click(), "reacted": lambda step: s.record_reaction(),
             "tour-step": lambda step: s.record_tour_step(),
             "tour-started": lambda step: s.set_visual_guidance(True, step["tour_id"]),
             "tour-ended": lambda step: s.set_visual_guidance(False)}
    out = []
    for step in scenario["steps"]:
        CLOCK.now += step["advance"]
        try:
            refused = "cooldown" if calls[step["event"]](step) is False else None
        except ref.agent_types.InvalidTransitionError:
            refused = "state"
        cooling = s.thinking.cooldown_active
        out.append({"refused": refused, "state": s.current_state.value, "last_interaction_at": s.last_interaction_at,
                    "cooldown_since": s.thinking.cooldown_started_at if cooling else None,
                    "cooldown_seconds": s.thinking.active_cooldown_period_s, "guidance": s.visual_guidance_active,
                    "tour_id": s.active_tour_id, "clicked_option": s.proactive.user_clicked_option})
    return out


def session_rows(ref, seed: int, count: int) -> list:
    rows = []
    for n in range(count):
        scenario = session_scenario(random.Random(f"{seed}/{n}"))
        rows.append({"id": f"session/{n}", **scenario, "answers": session_answers(ref, scenario)})
    return rows


# --- the delivery breaker (proactive_resilience) ----------------------------------------------------------

BREAKER_EVENTS = ["check", "check", "failure", "failure", "failure", "success"]


def breaker_scenario(rng: random.Random) -> dict:
    config = {}
    if rng.random() < 0.7:
        config["failure_threshold"] = rng.choice([1, 2, 3, 5, 5, 0, -1])
    if rng.random() < 0.7:
        config["pause_s"] = rng.choice([0.5, 10, 120, 120, 0, -5])
    if rng.random() < 0.1:
        config["disabled"] = True
    steps = [{"advance": rng.choice([0, 0, 0.25, 0.5, 1, 10, 60, 119.5, 120, 121]), "event": rng.choice(BREAKER_EVENTS)}
             for _ in range(rng.randint(3, 40))]
    return {"config": config, "steps": steps}


def breaker_answers(ref, scenario: dict, breaker) -> list:
    """After each step: what the call returned (`is_open`; whether the failure opened it; None for a success) and
    the breaker's state; a refused configuration answers `refused` for every step."""
    try:
        cb = breaker(config=ref.config.CircuitBreakerConfig(**scenario["config"]))
    except ValueError:
        return [{"refused": True}] * len(scenario["steps"])
    now, out = 1000.0, []
    calls = {"check": lambda: cb.is_open(now=now), "failure": lambda: cb.record_failure_opening_if_needed(now=now),
             "success": lambda: cb.record_success()}
    for step in scenario["steps"]:
        now += step["advance"]
        returned = calls[step["event"]]()
        out.append({"returned": returned, "fail_streak": cb.fail_streak, "open_until": cb.circuit_open_until})
    return out


def breaker_rows(ref, seed: int, count: int) -> list:
    base = ref.circuit.InMemoryProactiveCircuitBreaker
    changed = named_differences(ref)["bad-options-refused"]["breaker"]
    rows = []
    for n in range(count):
        scenario = breaker_scenario(random.Random(f"{seed}/{n}"))
        row = {"id": f"breaker/{n}", **scenario, "answers": breaker_answers(ref, scenario, base)}
        ours = {"answers": breaker_answers(ref, scenario, changed)}
        tag_row(row, [("bad-options-refused", ours)], ours)
        rows.append(row)
    return rows


# --- the named differences, each a change to the reference's class (docs/proactive.md's parity table) ---

def named_differences(ref) -> dict:
    """Per difference id, the reference classes it changes (each a subclass calling the reference's own)."""
    shorten = ref.judge.validate_or_truncate_proactive_body
    kinds = reference_kinds(ref)

    class BodyShortened(kinds["predicate"]):
        """Every match's body is stripped and cut to 150 characters: the reference cuts its built-ins' bodies, not a
        predicate trigger's, so a chat surface could receive any length."""
        def evaluate(self, ctx):
            out = super().evaluate(ctx)
            return None if out is None else dataclasses.replace(out, body=shorten(out.body))

    class DwellOptionsRefused(kinds["dwell"]):
        """A threshold ≤ 0 or a max actions ≤ 0 is refused (a TypeError where the trigger is made): the reference
        never fires on the one and takes 5 for the other."""
        def evaluate(self, ctx):
            extra = ctx.context_extra or {}
            if float(extra.get("dwell_threshold_seconds", 60)) <= 0 or int(extra.get("user_page_dwell_max_actions", 5)) <= 0:
                raise ValueError("refused")
            return super().evaluate(ctx)

    def cycles_refused(base):
        class MinCyclesRefused(base):
            """minCycles below 1 is refused: the reference fires on any three URLs then."""
            def __init__(self, **kwargs):
                if kwargs.get("min_cycles", 1) < 1:
                    raise ValueError("refused")
                super().__init__(**kwargs)
        return MinCyclesRefused

    class BreakerOptionsRefused(ref.circuit.InMemoryProactiveCircuitBreaker):
        """A threshold below 1 or a pause ≤ 0 is refused where the operator is made: the reference's threshold ≤ 0
        turns the breaker off, and its pause ≤ 0 opens it for no time (a negative one counts as 0)."""
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            if not self.config.disabled and (self.config.failure_threshold <= 0 or self.config.pause_s <= 0):
                raise ValueError("refused")

    return {"body-shortened": {"predicate": BodyShortened},
            "bad-options-refused": {"dwell": DwellOptionsRefused, "ping_pong": cycles_refused(kinds["ping_pong"]),
                                    "scoped": cycles_refused(kinds["scoped"]), "breaker": BreakerOptionsRefused}}


def all_differences(base: dict, differences: dict) -> dict:
    """Every named difference at once (they change different classes, so they compose by replacement)."""
    kinds = dict(base)
    for changed in differences.values():
        kinds.update(changed)
    return kinds


# --- writing ---------------------------------------------------------------------------------------

def save(name: str, seed: int, rows: list) -> None:
    write(f"proactive-{name}", seed, rows, "generate_proactive.py")


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: python3 spec/reference/generate_proactive.py <Autoplay-AI-SDK clone or bare mirror>")
    # By the module's own name; agent_state_v2's `types` as `agent_types`, apart from proactive_triggers' own.
    ref = load(os.path.abspath(sys.argv[1]), MODULES, {"agent_state_v2/types": "agent_types"})
    save("context", 2501, context_rows(ref, 2501, 200))
    save("ping-pong", 2502, trigger_rows(ref, "ping-pong", 2502, 150, lambda rng: ["ping_pong"]))
    save("dwell", 2503, trigger_rows(ref, "dwell", 2503, 200, lambda rng: ["dwell"]))
    save("section", 2504, trigger_rows(ref, "section", 2504, 200, lambda rng: ["section"]))
    save("predicate", 2505, trigger_rows(ref, "predicate", 2505, 100, lambda rng: ["predicate"]))
    save("registry", 2506, trigger_rows(ref, "registry", 2506, 150, registry_kinds))
    save("session", 2507, session_rows(ref, 2507, 200))
    save("breaker", 2508, breaker_rows(ref, 2508, 200))


if __name__ == "__main__":
    main()
