"""Two Rasa servers sharing PostgreSQL (conversations) and Redis (locks), one action server:
50 parents at once, each turn sent to the other server, nothing lost, duplicated or reordered."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import post_json, stored_tracker
from tests.support.processes import start_rasa_server
from tests.support.services import postgres_server, redis_server

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
        assert status == 200, reply
        replies.append(reply)
    return sender, replies


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
        bot_texts = [e["text"] for e in tracker["events"] if e["event"] == "bot"]
        assert bot_texts == [m["text"] for reply in replies for m in reply], sender
        assert tracker["slots"]["app"] == "snapchat"
