"""`make bench-load`: N parents at once, M messages each, against one Rasa server and against two
(turns sent round-robin), both on PostgreSQL + Redis as in docs/deploy.md. Figures only.

    python -m bench.load [--senders 20] [--messages 10]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from bench.measure import heldout_sets, load
from tests.support.processes import latest_model, start_action_server, start_rasa_server
from tests.support.services import postgres_server, redis_server


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n")[0])
    parser.add_argument("--senders", type=int, default=20, help="parents at once (default 20)")
    parser.add_argument("--messages", type=int, default=10, help="messages each (default 10)")
    args = parser.parse_args()
    texts = [text for pairs in heldout_sets().values() for text, _ in pairs]
    work = Path(tempfile.mkdtemp(prefix="bench-load-"))
    model = latest_model()
    print(f"{os.cpu_count()} cores; {args.senders} senders x {args.messages} messages")
    with postgres_server() as postgres, redis_server() as redis:
        shared = {"tracker_store": postgres.tracker_store(), "lock_store": redis.lock_store()}
        actions = start_action_server(work)
        servers = [start_rasa_server(model, actions.port, work, name, endpoints_extra=shared)
                   for name in ("a", "b")]
        try:
            actions.wait_until_up("/health")
            for server in servers:
                server.wait_until_up()
            for label, urls in (("one instance", [servers[0].url]),
                                ("two instances, round-robin", [s.url for s in servers])):
                load(urls, texts, 2, 2, f"warm-{len(urls)}")
                r = load(urls, texts, args.senders, args.messages, f"load-{len(urls)}")
                print(f"{label}: {r['messages']} messages, {r['per_s']:.1f} messages/s, "
                      f"p50 {r['p50']:.0f} ms, p95 {r['p95']:.0f} ms, p99 {r['p99']:.0f} ms, "
                      f"{r['errors']} errors")
        finally:
            for server in servers + [actions]:
                server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
