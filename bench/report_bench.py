"""How long `python -m bot report` takes on 100,000 conversations (about a million stored events),
written straight into a temporary SQLite store. Figures only.

    python -m bench.report_bench [--conversations 100000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Dict, Iterator, List

from bot.staff.report import FALLBACK, NOT_RATED, write_report
from bot.staff.training_data import load_examples
from bot.topics import handoff_topics, load_topics

WEEKS = 12
BATCH = 20_000
CHANNELS = (("webchat", 0.45), ("facebook", 0.35), ("rest", 0.20))
NOT_UNDERSTOOD = ["wat do i do abt {}", "my [name] keeps on at me about {}", "is {} a thing",
                  "how do i turn off {}", "{} help", "whats the deal with {}", "can u block {}",
                  "someone said {} is bad", "{} on the xbox", "do i need to worry about {}"]
THINGS = ["bereal", "yubo", "omegle", "the wifi", "airdrop", "vpn", "the router", "finstas",
          "streaks", "robux", "loot boxes", "group chats", "the school app", "location", "dms"]


def _user(sender: str, at: float, text: str, intent: str, channel: str, ranking: List[str],
          entities: List[Dict[str, Any]]) -> Dict[str, Any]:
    # Shaped as RedactingSQLTrackerStore stores it: a ranking of ten intents, as Rasa's classifier gives.
    scores = [0.62] + [round(0.3 / (n + 1), 4) for n in range(len(ranking) - 1)]
    data = {"event": "user", "timestamp": at, "metadata": {}, "text": text,
            "parse_data": {"intent": {"name": intent, "confidence": scores[0]}, "entities": entities,
                           "text": text, "message_id": f"{int(at * 1000):x}", "metadata": {},
                           "intent_ranking": [{"name": n, "confidence": s} for n, s in zip(ranking, scores)],
                           "response_selector": {"all_retrieval_intents": []}},
            "input_channel": channel, "message_id": f"{int(at * 1000):x}"}
    return {"sender_id": sender, "type_name": "user", "timestamp": at, "intent_name": intent,
            "action_name": None, "data": json.dumps(data)}


def _other(sender: str, at: float, type_name: str, name: str = "") -> Dict[str, Any]:
    data: Dict[str, Any] = {"event": type_name, "timestamp": at, "metadata": {}}
    if type_name == "action":
        data.update(name=name, policy="RulePolicy", confidence=1.0, action_text=None, hide_rule_turn=False)
    return {"sender_id": sender, "type_name": type_name, "timestamp": at, "intent_name": None,
            "action_name": name or None, "data": json.dumps(data)}


def conversations(count: int, now: float, seed: int = 7) -> Iterator[Dict[str, Any]]:
    """About ten events per conversation: a session start, then one to three questions, some not
    understood, some pressed as buttons, some rated, spread over the last twelve weeks."""
    rng = random.Random(seed)
    texts: Dict[str, List[str]] = defaultdict(list)
    for example in load_examples():
        texts[example.intent].append(example.text)
    handoffs = sorted(handoff_topics())
    asked = [t for t in load_topics() if t in texts and t not in handoffs]
    rng.shuffle(asked)
    weights = [1 / (rank + 1) for rank in range(len(asked))]  # a few topics asked far more than others
    names = list(texts)
    channels, channel_weights = zip(*CHANNELS)
    span = WEEKS * 7 * 86400
    for number, start in enumerate(sorted(now - span + rng.random() * span for _ in range(count))):
        sender, at = f"h:{number:064x}", start
        channel = rng.choices(channels, channel_weights)[0]
        yield _other(sender, at, "action", "action_session_start")
        yield _other(sender, at, "session_started")
        yield _other(sender, at, "action", "action_listen")
        fallback_rate = 0.14 - 0.06 * (start - now + span) / span  # the model gets better
        for _ in range(rng.choice((1, 2, 2, 3))):
            at += rng.uniform(5, 120)
            roll = rng.random()
            intent = (rng.choice(handoffs) if roll < 0.03 else FALLBACK if roll < 0.03 + fallback_rate
                      else rng.choices(asked, weights)[0])
            ranking = [intent] + rng.sample(names, 9)
            if intent == FALLBACK:
                text = rng.choice(NOT_UNDERSTOOD).format(rng.choice(THINGS))
                action = "utter_default"
            else:
                text = f"/{intent}" if rng.random() < 0.2 else rng.choice(texts[intent])
                action = f"utter_{intent}"
            yield _user(sender, at, text, intent, channel, ranking, [])
            yield _other(sender, at + 0.2, "action", action)
            yield _other(sender, at + 0.3, "action", "action_listen")
            if intent not in NOT_RATED and rng.random() < 0.25:  # the buttons come after an answer
                at += rng.uniform(5, 60)
                helpful = rng.random() < 0.75
                yield _user(sender, at, f'/feedback{{"helpful": {json.dumps(helpful)}}}', "feedback",
                            channel, ["feedback"] + rng.sample(names, 9),
                            [{"entity": "helpful", "value": helpful, "extractor": "RegexMessageHandler"}])
                yield _other(sender, at + 0.2, "action", "utter_thanks_feedback")
                yield _other(sender, at + 0.3, "action", "action_listen")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.report_bench", description=__doc__.split("\n")[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    args = parser.parse_args()
    os.environ.setdefault("CONVERSATION_ID_KEY", "bench")  # the store wants a key; ids here are made up
    from bot.quiet import quiet_warnings

    quiet_warnings()  # before Rasa's tracker store is imported: SQLAlchemy warns as it is
    from rasa.shared.core.domain import Domain

    from bot.storage import RedactingSQLTrackerStore

    with tempfile.TemporaryDirectory(prefix="report-bench-") as folder:
        db = Path(folder) / "conversations.db"
        store = RedactingSQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(db))
        table = store.SQLEvent.__table__
        events, batch = 0, []
        began = time.perf_counter()
        with store.engine.begin() as connection:  # one transaction: SQLite is slow committing each batch
            for row in conversations(args.conversations, time.time()):
                batch.append(row)
                if len(batch) == BATCH:
                    connection.execute(table.insert(), batch)
                    events, batch = events + len(batch), []
            if batch:
                connection.execute(table.insert(), batch)
                events += len(batch)
        store.engine.dispose()
        print(f"wrote {events:,} events in {time.perf_counter() - began:.1f} s "
              f"({db.stat().st_size / 1e6:,.0f} MB)")
        endpoints = Path(folder) / "endpoints.yml"
        endpoints.write_text(f"tracker_store:\n  type: bot.storage.RedactingSQLTrackerStore\n"
                             f"  dialect: sqlite\n  db: {db}\n", encoding="utf-8")
        began = time.perf_counter()
        page = write_report(endpoints, Path(folder) / "report")
        took = time.perf_counter() - began
        print(f"report on {args.conversations:,} conversations ({events:,} events): {took:.1f} s "
              f"({page.stat().st_size / 1e3:,.0f} kB page, {dt.datetime.now():%Y-%m-%d %H:%M})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
