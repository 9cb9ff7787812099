"""What keeps the server's cost per message down (issue 20). Figures come from `make bench-load`;
these tests check the mechanisms, never a time."""

from __future__ import annotations

import subprocess

from tests.support.processes import BIN, SERVER_ENV


def test_the_server_gives_the_maths_libraries_one_thread_each():
    """bot.serve sets the thread count before NumPy loads: with two, OpenBLAS's second thread spun
    on the other core after every message."""
    env = {k: v for k, v in SERVER_ENV.items()
           if k not in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    code = ("import bot.serve, numpy, scipy.linalg, sklearn.linear_model; "
            "from threadpoolctl import threadpool_info; "
            "print(sorted({(i['internal_api'], i['num_threads']) for i in threadpool_info()}))")
    shown = subprocess.run([str(BIN / "python"), "-c", code], env=env, capture_output=True, text=True,
                           check=True).stdout
    assert "openblas" in shown and "openmp" in shown, shown
    assert ", 2)" not in shown and ", 1)" in shown, shown


def test_each_sanic_worker_gets_its_share_of_the_cores_for_the_encoder(monkeypatch):
    from bot.nlu import sentence_embeddings

    monkeypatch.setattr(sentence_embeddings.os, "cpu_count", lambda: 2)
    monkeypatch.delenv("SANIC_WORKERS", raising=False)
    assert sentence_embeddings.encoder_threads() == 2
    monkeypatch.setenv("SANIC_WORKERS", "2")
    assert sentence_embeddings.encoder_threads() == 1
    monkeypatch.setenv("SANIC_WORKERS", "lots")
    assert sentence_embeddings.encoder_threads() == 2


def test_make_run_starts_its_lock_store_and_two_workers():
    """The default set-up: endpoints.yml's lock store is the Redis `make run` starts, on a socket
    only this user can open, and Rasa is started with two Sanic workers."""
    import yaml

    from bot.content import PROJECT_DIR
    from bot.locks import SocketRedisLockStore, socket_path

    lock_store = yaml.safe_load((PROJECT_DIR / "endpoints.yml").read_text())["lock_store"]
    assert lock_store["type"] == f"{SocketRedisLockStore.__module__}.{SocketRedisLockStore.__name__}"
    dry_run = subprocess.run(["make", "-n", "run"], cwd=PROJECT_DIR, capture_output=True, text=True,
                             check=True).stdout
    assert f"scripts/lock-redis.sh {socket_path(lock_store['socket']).relative_to(PROJECT_DIR)}" in dry_run
    assert "SANIC_WORKERS=2 " in dry_run
    assert f"REDIS_SOCKET={socket_path(lock_store['socket']).relative_to(PROJECT_DIR)} " in dry_run


def test_action_server_replies_are_checked_as_rasa_checks_them_with_one_validator():
    import jsonschema
    import pytest
    from rasa.core.actions.action import RemoteAction
    from sanic import Sanic

    from bot import action_replies
    from bot.channels.server import configure

    schema = RemoteAction.action_response_format_spec()
    good = {"events": [{"event": "slot", "name": "app", "value": "roblox"}],
            "responses": [{"text": "Roblox: ..."}]}
    bad = {"events": "not a list", "responses": [{"text": 3}]}
    jsonschema.validate(good, schema)
    with pytest.raises(jsonschema.ValidationError) as rasa_says:
        jsonschema.validate(bad, schema)
    action_replies.reply_validator.cache_clear()
    assert action_replies.validate_action_result(None, good) is True
    with pytest.raises(jsonschema.ValidationError) as we_say:
        action_replies.validate_action_result(None, bad)
    assert we_say.value.message.startswith(rasa_says.value.message)
    assert "custom-actions" in we_say.value.message
    assert action_replies.reply_validator.cache_info().misses == 1  # built once
    configure(Sanic("speed-test"))
    assert RemoteAction._validate_action_result is action_replies.validate_action_result


def converse(agent, texts, sender_prefix, per_conversation):
    """Send `texts` to `agent` as conversations of `per_conversation` messages each; the chat
    messages of each reply."""
    import asyncio

    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

    async def talk():
        replies = []
        for i, text in enumerate(texts):
            out = CollectingOutputChannel()
            await agent.handle_message(UserMessage(
                text, out, sender_id=f"{sender_prefix}-{i // per_conversation}"))
            replies.append([(m.get("text"), m.get("custom")) for m in out.messages])
        return replies

    return asyncio.run(talk())


def test_the_sequential_graph_runner_gives_dasks_results(model_path, monkeypatch):
    """bot/graph_runner.py: the same parses (intent, ranking, entities, every component's note)
    and the same replies, turn by turn, as Rasa's DaskGraphRunner, on held-out messages sent as
    conversations of ten."""
    import asyncio
    import logging

    import rasa.core.processor
    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    from bot import graph_runner
    from bot.staff import evaluation

    configure_structlog(logging.WARNING)
    texts = [text for _, text, _ in evaluation.heldout()][::4]
    assert len(texts) >= 100

    def load(runner: type) -> Agent:
        monkeypatch.setattr(rasa.core.processor, "DaskGraphRunner", runner)
        agent = Agent.load(str(model_path))
        assert type(agent.processor.graph_runner) is runner
        return agent

    async def parse(agent: Agent) -> list:
        return [await agent.parse_message(text) for text in texts]

    def run(agent: Agent) -> tuple:
        # No action server here: both runners take Rasa's path for an unreachable one.
        return asyncio.run(parse(agent)), converse(agent, texts, "runner", 10)

    dask_parses, dask_replies = run(load(rasa.core.processor.DaskGraphRunner))
    ours_parses, ours_replies = run(load(graph_runner.SequentialGraphRunner))
    assert ours_parses == dask_parses
    assert ours_replies == dask_replies
    assert sum(1 for r in ours_replies if r) > len(texts) // 2


def test_the_server_puts_its_quicker_rasa_steps_in_place_before_rasa_starts(monkeypatch):
    """bot.serve applies the graph runner, the rule search and the past states before Rasa's
    `rasa run` starts (here replaced by a stand-in)."""
    import sys

    import rasa.__main__
    import rasa.core.processor
    from rasa.core.policies.rule_policy import RulePolicy
    from rasa.shared.core.domain import Domain

    from bot import graph_runner, past_states, policies, serve

    monkeypatch.setattr(rasa.core.processor, "DaskGraphRunner", rasa.core.processor.DaskGraphRunner)
    monkeypatch.setattr(RulePolicy, "_get_possible_keys", RulePolicy._get_possible_keys)
    monkeypatch.setattr(Domain, "states_for_tracker_history", Domain.states_for_tracker_history)
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    seen = []
    monkeypatch.setattr(rasa.__main__, "main", lambda: seen.append(
        (rasa.core.processor.DaskGraphRunner, RulePolicy._get_possible_keys,
         Domain.states_for_tracker_history)))
    serve.main(["--port", "0"])
    assert seen == [(graph_runner.SequentialGraphRunner, policies.possible_keys,
                     past_states.states_for_tracker_history)]


def test_the_sequential_graph_runner_refuses_an_input_named_like_a_node(model_path, monkeypatch):
    import pytest
    import rasa.core.processor
    from rasa.core.agent import Agent
    from rasa.engine.exceptions import GraphRunError

    from bot import graph_runner

    monkeypatch.setattr(rasa.core.processor, "DaskGraphRunner", graph_runner.SequentialGraphRunner)
    runner = Agent.load(str(model_path)).processor.graph_runner
    node = next(iter(runner._graph_schema.nodes))
    with pytest.raises(GraphRunError):
        runner.run(inputs={node: "x"}, targets=[node])


def test_the_rule_search_finds_what_rasas_finds_on_every_state_of_many_conversations(
        model_path, monkeypatch):
    """bot/policies.py against RulePolicy's own search, for both of its lookups, on every prefix
    of the states of conversations made of held-out messages (as the policy sees them, by intent
    and by text), remembered or not, and with the memory kept within its bound."""
    import asyncio
    import logging
    import random

    from rasa.core.agent import Agent
    from rasa.core.policies.rule_policy import RULES, RULES_FOR_LOOP_UNHAPPY_PATH, RulePolicy
    from rasa.utils.log_utils import configure_structlog

    from bot import policies
    from bot.staff import evaluation

    configure_structlog(logging.WARNING)
    monkeypatch.setattr(policies, "MATCHES_REMEMBERED", 50)
    agent = Agent.load(str(model_path))
    policy = next(node._component for node in agent.processor.graph_runner._instantiated_nodes.values()
                  if isinstance(getattr(node, "_component", None), RulePolicy))
    texts = [text for _, text, _ in evaluation.heldout()][1::3] + ["yes", "no", "thanks", "bye"]
    converse(agent, texts, "rules", 12)
    compared = found = 0
    seen = []
    for sender in asyncio.run(agent.tracker_store.keys()):
        tracker = asyncio.run(agent.tracker_store.retrieve(sender))
        for by_text in (False, True):
            states = policy._prediction_states(tracker, agent.domain, by_text,
                                               rule_only_data=policy._get_rule_only_data())
            seen += states
            for end in range(len(states) + 1):
                for lookup in (policy.lookup[RULES], policy.lookup[RULES_FOR_LOOP_UNHAPPY_PATH]):
                    rasas = policies.rasas_possible_keys(policy, lookup, states[:end])
                    assert policies.possible_keys(policy, lookup, states[:end]) == rasas
                    assert policies.possible_keys(policy, lookup, states[:end]) == rasas  # remembered
                    compared += 1
                    found += bool(rasas) and end > 0
    assert compared > 2000 and found > 300
    # Real states in random orders: the rules' earlier states now often fail to match.
    draw = random.Random(20)
    for _ in range(3000):
        states = [draw.choice(seen) for _ in range(draw.randint(1, 5))]
        rasas = policies.rasas_possible_keys(policy, policy.lookup[RULES], states)
        assert policies.possible_keys(policy, policy.lookup[RULES], states) == rasas
    assert len(policy.__dict__["_matches_remembered"]) <= 50


def test_action_server_calls_leave_the_domain_out_and_no_action_reads_it():
    """endpoints.yml and endpoints.prod.yml enable Rasa's selective domain: no action asks for
    the domain, so none is sent (55 KB of JSON a call). An action that reads it would get {}."""
    import ast

    from rasa.core.actions.action import RemoteAction
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.utils.endpoints import read_endpoint_config

    from bot.content import PROJECT_DIR

    domain = Domain.load(str(PROJECT_DIR / "domain.yml"))
    tracker = DialogueStateTracker("parent", domain.slots)
    for name in ("endpoints.yml", "endpoints.prod.yml"):
        endpoint = read_endpoint_config(str(PROJECT_DIR / name), "action_endpoint")
        call = RemoteAction("action_app_guide", endpoint)._action_call_format(tracker, domain)
        assert "domain" not in call and call["next_action"] == "action_app_guide", name
    for path in (PROJECT_DIR / "actions").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Name) and node.id == "domain" and isinstance(node.ctx, ast.Load):
                # Only handed on to the answer method, never looked into.
                assert path.name == "base.py", f"{path.name} reads the domain"


def test_past_states_are_rasas_at_every_prediction_of_many_conversations(model_path, monkeypatch):
    """bot/past_states.py: every call the policies make while answering conversations of
    held-out messages, with steps back (/back), a restart request and a new session among them, gets
    exactly the states Rasa's own function gives for the same tracker at that moment."""
    import logging

    from rasa.core.agent import Agent
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import SessionStarted, UserUtteranceReverted
    from rasa.utils.log_utils import configure_structlog

    from bot import past_states
    from bot.staff import evaluation

    configure_structlog(logging.WARNING)
    sizes, seen = [], set()

    def checked(domain, tracker, **kwargs):
        ours = past_states.states_for_tracker_history(domain, tracker, **kwargs)
        assert ours == past_states.rasas(domain, tracker, **kwargs)
        sizes.append(len(ours))
        seen.update(type(event) for event in tracker.events)
        return ours  # the policies change what they get, as they would in the server

    monkeypatch.setattr(Domain, "states_for_tracker_history", checked)
    agent = Agent.load(str(model_path))
    texts = [text for _, text, _ in evaluation.heldout()][::2]
    texts[5::9] = ["/back"] * len(texts[5::9])
    texts[30] = "/restart"
    texts[40] = "/session_start"
    converse(agent, texts, "states", 25)
    assert {UserUtteranceReverted, SessionStarted} <= seen
    assert len(sizes) > 1500 and max(sizes) >= 40


def test_past_states_replay_afresh_for_changed_events_a_restart_or_another_domain():
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, Restarted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot import past_states
    from bot.content import PROJECT_DIR

    domain = Domain.load(str(PROJECT_DIR / "domain.yml"))
    first = [ActionExecuted("action_listen"), UserUttered("hi", {"name": "greet"}),
             ActionExecuted("utter_greet"), ActionExecuted("action_listen")]
    tracker = DialogueStateTracker.from_events("a", first, domain.slots)
    assert past_states.states_for_tracker_history(domain, tracker) == past_states.rasas(domain, tracker)
    # Same number of events, different ones (as after an undone turn and a new message).
    other = first[:1] + [UserUttered("bye", {"name": "goodbye"})] + first[2:]
    tracker.events.clear()
    for event in other:
        tracker.events.append(event)
    assert past_states.states_for_tracker_history(domain, tracker) == past_states.rasas(domain, tracker)
    assert past_states.states_for_tracker_history(domain, tracker)[1]["user"]["intent"] == "goodbye"
    # A restart: what came before it no longer counts.
    for event in [Restarted(), ActionExecuted("action_listen"), UserUttered("hi", {"name": "greet"})]:
        tracker.update(event)
        assert (past_states.states_for_tracker_history(domain, tracker)
                == past_states.rasas(domain, tracker))
    assert len(past_states.rasas(domain, tracker)) == 2
    # Another model's domain (a model loaded in its place) gets its own replay.
    other_domain = Domain.load(str(PROJECT_DIR / "domain.yml"))
    assert (past_states.states_for_tracker_history(other_domain, tracker)
            == past_states.rasas(other_domain, tracker))
    assert all(replay.domain is other_domain
               for replay in tracker.__dict__[past_states._ATTRIBUTE].values())
