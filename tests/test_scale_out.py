"""Two Rasa servers sharing PostgreSQL (conversations) and Redis (locks), one action server:
50 parents at once, each turn sent to the other server, nothing lost, duplicated or reordered.
And `make run`'s own set-up: one server with two Sanic workers, SQLite, and the lock store's
Redis on a socket (bot/locks.py)."""

from __future__ import annotations

import contextlib
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.content import chat_messages
from tests.conftest import post_json, stored_tracker
from tests.support.processes import start_rasa_server
from tests.support.services import lock_redis, postgres_server, redis_server

TURNS = ["is tiktok ok for my daughter, she's 12", "what about snapchat?",
         "how do i check who she is friends with", "thanks"]
CONVERSATIONS = 50


@pytest.fixture(scope="module")
def two_instances(model_path, servers, tmp_path_factory):
    log_dir = tmp_path_factory.mktemp("scale-out")
    with postgres_server() as postgres, redis_server() as redis:
        shared = {"tracker_store": postgres.tracker_store(), "lock_store": redis.lock_store()}
        instances = [start_rasa_server(model_path, servers["actions"].port, log_dir, name,
                                       endpoints_extra=shared) for name in ("a", "b")]
        try:
            for instance in instances:
                instance.wait_until_up()
            yield instances
        finally:
            for instance in instances:
                instance.stop()


def converse(instances, index):
    sender = f"parent-{index}"
    replies = []
    for turn, text in enumerate(TURNS):
        server = instances[(turn + index) % 2]  # every turn goes to the other instance
        status, reply = post_json(server.url + "/webhooks/rest/webhook",
                                  {"sender": sender, "message": text})
        assert status == 200, (reply, server.errors())
        replies.append(reply)
    return sender, replies


def bot_texts(tracker: dict) -> list:
    """The texts of every chat message the stored conversation says the assistant sent."""
    return [m["text"] for e in tracker["events"] if e["event"] == "bot"
            for m in chat_messages({"text": e["text"], **(e.get("data") or {})})]


def test_every_conversation_holds_every_turn_in_order_across_two_instances(two_instances):
    with ThreadPoolExecutor(max_workers=CONVERSATIONS) as pool:
        results = list(pool.map(lambda i: converse(two_instances, i), range(CONVERSATIONS)))
    for index, (sender, replies) in enumerate(results):
        # the slots set on one instance are used by the other: the age and the app carried over
        assert replies[1][0]["text"].startswith("Snapchat: ") and "Your child is 12" in replies[1][0]["text"]
        reader = two_instances[index % 2]
        tracker = stored_tracker(reader, sender)
        user_texts = [e["text"] for e in tracker["events"] if e["event"] == "user"]
        assert user_texts == TURNS, sender
        assert bot_texts(tracker) == [m["text"] for reply in replies for m in reply], sender
        assert tracker["slots"]["app"] == "snapchat"


@pytest.fixture(scope="module")
def two_workers(model_path, servers, tmp_path_factory):
    """The set-up `make run` starts: two Sanic workers, SQLite, locks in Redis on a socket."""
    work = tmp_path_factory.mktemp("two-workers")
    with lock_redis(work) as locks:
        endpoints = {"tracker_store": {"type": "bot.storage.RedactingSQLTrackerStore",
                                       "dialect": "sqlite", "db": str(work / "conversations.db")},
                     "lock_store": locks.lock_store()}
        server = start_rasa_server(model_path, servers["actions"].port, work, "two-workers",
                                   env={"SANIC_WORKERS": "2"}, endpoints_extra=endpoints)
        try:
            server.wait_until_up()
            yield server, locks
        finally:
            server.stop()


def lock_writes(locks) -> int:
    """How many SET commands the lock store's Redis has run (each lock taken or updated)."""
    info = subprocess.run(["redis-cli", "-s", str(locks.socket), "info", "commandstats"],
                          capture_output=True, text=True, check=True).stdout
    line = next((x for x in info.splitlines() if x.startswith("cmdstat_set:")), "calls=0,")
    return int(line.split("calls=")[1].split(",")[0])


def test_two_workers_share_the_locks_and_keep_every_conversation_whole(two_workers):
    server, locks = two_workers
    assert len(server.workers()) == 2, "Rasa did not start two Sanic workers"
    before = lock_writes(locks)
    conversations = 30
    with ThreadPoolExecutor(max_workers=conversations) as pool:
        results = list(pool.map(lambda i: converse([server, server], i), range(conversations)))
    assert lock_writes(locks) - before >= conversations * len(TURNS)
    for sender, replies in results:
        assert replies[1][0]["text"].startswith("Snapchat: ") and "Your child is 12" in replies[1][0]["text"]
        tracker = stored_tracker(server, sender)
        assert [e["text"] for e in tracker["events"] if e["event"] == "user"] == TURNS, sender
        assert bot_texts(tracker) == [m["text"] for reply in replies for m in reply], sender


def test_a_lock_taken_by_one_worker_is_seen_by_the_other(tmp_path):
    import asyncio

    from rasa.core.lock_store import LockStore
    from rasa.utils.endpoints import EndpointConfig

    with lock_redis(tmp_path) as locks:
        config = locks.lock_store()
        first, second = (LockStore.create(EndpointConfig(**config)) for _ in range(2))

        async def hold() -> None:
            async with first.lock("rest:parent"):
                assert second.get_lock("rest:parent") is not None
                assert second.get_lock("rest:parent").last_issued == 0
            assert second.get_lock("rest:parent") is None

        asyncio.run(hold())
    assert oct(tmp_path.joinpath("redis").stat().st_mode)[-3:] == "700"


def test_the_lock_scripts_change_tickets_as_rasas_ticket_lock_does(tmp_path):
    """bot/locks.py's Redis scripts against Rasa's TicketLock doing the same in Python: numbers
    follow the last unexpired ticket, expired ones go, a ticket given back goes, the lock goes
    with its last ticket, and Rasa reads every lock the scripts write."""
    import asyncio
    import time

    from rasa.core.lock import TicketLock
    from rasa.core.lock_store import LockStore
    from rasa.utils.endpoints import EndpointConfig

    with lock_redis(tmp_path) as locks:
        store = LockStore.create(EndpointConfig(**locks.lock_store()))
        rasas = TicketLock("rest:parent/é")

        def same() -> None:
            stored = store.get_lock("rest:parent/é")
            assert stored is not None and stored.conversation_id == "rest:parent/é"
            assert [t.number for t in stored.tickets] == [t.number for t in rasas.tickets]
            for ours, theirs in zip(stored.tickets, rasas.tickets):
                assert abs(ours.expires - theirs.expires) < 0.5
            assert stored.now_serving == rasas.now_serving

        for _ in range(3):
            assert store.issue_ticket("rest:parent/é", 60) == rasas.issue_ticket(60)
        same()
        store.cleanup("rest:parent/é", 1)
        rasas.remove_ticket_for(1)
        same()
        assert store.issue_ticket("rest:parent/é", 0.05) == rasas.issue_ticket(0.05) == 3
        time.sleep(0.1)
        store.update_lock("rest:parent/é")
        rasas.remove_expired_tickets()
        same()
        assert [t.number for t in rasas.tickets] == [0, 2]
        assert store.issue_ticket("rest:parent/é", 60) == rasas.issue_ticket(60) == 3
        for number in (0, 2, 3):
            store.cleanup("rest:parent/é", number)
        assert store.get_lock("rest:parent/é") is None
        store.update_lock("rest:parent/é")  # nothing to drop, nothing written
        store.cleanup("rest:parent/é", 7)
        assert store.get_lock("rest:parent/é") is None
        # Every ticket expired: numbering starts again, as Rasa's does.
        store.issue_ticket("rest:other", 0.05)
        time.sleep(0.1)
        assert store.issue_ticket("rest:other", 60) == 0
        # A Redis that lost its scripts (restarted) is sent them again.
        store.red.script_flush()
        assert store.issue_ticket("rest:other", 60) == 1

        # A turn nobody is ahead of: its ticket is served at once, without reading the lock
        # again; one behind a ticket still held waits, reading the lock, as Rasa's does.
        reads = []
        rasas_read = type(store).get_lock
        store.get_lock = lambda conversation_id: reads.append(conversation_id) or rasas_read(
            store, conversation_id)

        async def turns() -> None:
            async with store.lock("rest:third") as held:
                assert held.now_serving == 0 and not held.is_locked(0)
            assert reads == [] and store.red.get(store.key_prefix + "rest:third") is None
            store.issue_ticket("rest:fourth", 0.3)  # held by a worker that never gives it back
            started = time.monotonic()
            async with store.lock("rest:fourth", wait_time_in_seconds=0.05) as held:
                assert held.now_serving == 1
            assert time.monotonic() - started >= 0.25 and "rest:fourth" in reads

        asyncio.run(turns())


@pytest.mark.parametrize("served", ["socket", "network"])
def test_workers_taking_one_conversations_lock_at_once_never_share_it(tmp_path, served):
    """Four lock stores (as four workers) take tickets for one conversation at the same moment:
    every ticket is different, only one holds the lock at a time, and none waits for an expiry.
    (Rasa's RedisLockStore read the lock and wrote it back in separate steps: 277 different
    tickets out of 800, and two workers inside the lock at once.)"""
    import asyncio
    import threading

    from rasa.core.lock_store import LockStore
    from rasa.utils.endpoints import EndpointConfig

    with contextlib.ExitStack() as stack:
        if served == "socket":
            config = stack.enter_context(lock_redis(tmp_path)).lock_store()
        else:
            config = stack.enter_context(redis_server()).lock_store()
        stores = [LockStore.create(EndpointConfig(**config)) for _ in range(4)]
        tickets, holding, most, count = [], [0], [0], threading.Lock()

        def take_tickets(store) -> None:
            for _ in range(100):
                ticket = store.issue_ticket("rest:race", 60)
                with count:
                    tickets.append(ticket)

        async def turns(store) -> None:
            for _ in range(20):
                async with store.lock("rest:turns", lock_lifetime=5, wait_time_in_seconds=0.001):
                    with count:
                        holding[0] += 1
                        most[0] = max(most[0], holding[0])
                    await asyncio.sleep(0.001)
                    with count:
                        holding[0] -= 1

        for work in (take_tickets, lambda store: asyncio.run(turns(store))):
            threads = [threading.Thread(target=work, args=(store,)) for store in stores]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        assert len(tickets) == 400 and len(set(tickets)) == 400
        assert most[0] == 1
        assert stores[0].get_lock("rest:turns") is None  # the last turn's cleanup removed it
        for ticket in tickets:
            stores[1].cleanup("rest:race", ticket)
        assert stores[0].get_lock("rest:race") is None


def test_messenger_keeps_what_two_workers_share_in_the_lock_store_redis(tmp_path, monkeypatch):
    """A message id handled by one worker is not handled again by the other (Meta posts it again
    when its 200 was slow), and a handover to a person is seen by both."""
    import asyncio

    from bot.channels.messenger_state import RedisFlags, flags_from_environment

    with lock_redis(tmp_path) as locks:
        monkeypatch.delenv("REDIS_HOST", raising=False)
        monkeypatch.setenv("REDIS_SOCKET", str(locks.socket))
        first, second = flags_from_environment(), flags_from_environment()
        assert isinstance(first, RedisFlags)

        async def share() -> None:
            assert await first.add_once("mid:1", 60)
            assert not await second.add_once("mid:1", 60)
            await first.set("handover:psid", 60)
            assert await second.is_set("handover:psid")

        asyncio.run(share())
