"""`make bench-load`: many parents at once, in one run, written to reports/bench-load.md (and .json).

1. One instance with the default set-up (`make run`'s: two Sanic workers, SQLite conversation
   store, the lock store's own Redis on a socket, the action server beside it): N parents at once,
   M messages each.
2. The same server, one conversation of T turns: the reply time of its first ten turns and of its
   last ten (the per-sender rate limit is lifted for this benchmark's servers only).
3. Two instances sharing PostgreSQL (conversations) and Redis (locks), as in docs/deploy.md, turns
   sent round-robin.
4. Resident memory of every server process after its load (VmRSS, and its peak VmHWM): each
   Sanic worker, and the process that started them.
With PROFILE=1 (`--profile`), py-spy samples the default server during step 1 and writes a flame
graph to reports/profile-load.svg. Figures only: nothing here passes or fails.

    python -m bench.load [--senders 20] [--messages 20] [--turns 200] [--profile]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Dict, List

from bench.measure import heldout_sets, load, send
from bot.content import PROJECT_DIR
from tests.support.processes import (
    BIN,
    SERVER_ENV,
    Server,
    latest_model,
    start_action_server,
    start_rasa_server,
)
from tests.support.services import lock_redis, postgres_server, redis_server

REPORTS = PROJECT_DIR / "reports"
# The benchmark's servers only: one conversation of 200 turns, and 20 parents from one address.
BENCH_ENV = {**SERVER_ENV, "RATE_LIMIT_PER_SENDER": "100000", "RATE_LIMIT_PER_ADDRESS": "100000"}


def memory_mb(server: Server) -> Dict[str, float]:
    """Resident memory of a server process now and at its peak, in MB (Linux /proc)."""
    return process_memory_mb(server.process.pid)


def process_memory_mb(pid: int) -> Dict[str, float]:
    """Resident memory (VmRSS), its peak (VmHWM), and the process's proportional share (Pss):
    Sanic workers are forked from the process that starts them and share its pages until they
    write to them, so their resident figures count the shared pages once each, Pss once in all."""
    fields = {}
    for source in ("status", "smaps_rollup"):
        for line in Path(f"/proc/{pid}/{source}").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM", "Pss"):
                fields[name] = int(value.split()[0]) / 1024
    return {"rss_mb": round(fields.get("VmRSS", 0.0), 1), "peak_mb": round(fields.get("VmHWM", 0.0), 1),
            "pss_mb": round(fields.get("Pss", 0.0), 1)}


def long_conversation(url: str, texts: List[str], turns: int) -> Dict[str, float]:
    """One sender, `turns` messages one after another: median reply time of the first ten and
    the last ten turns."""
    times = []
    for turn in range(turns):
        ok, seconds = send(url + "/webhooks/rest/webhook", "long-conversation", texts[turn % len(texts)])
        if not ok:
            raise RuntimeError(f"turn {turn + 1} of the long conversation failed")
        times.append(1000 * seconds)
    first, last = statistics.median(times[:10]), statistics.median(times[-10:])
    return {"turns": turns, "first_10_median_ms": round(first, 1), "last_10_median_ms": round(last, 1),
            "ratio": round(last / first, 2)}


def flame_graph(pid: int, seconds: int, out: Path) -> subprocess.Popen:
    """py-spy sampling a running server and its workers for `seconds`, writing an SVG flame graph."""
    return subprocess.Popen(
        [str(BIN / "py-spy"), "record", "--pid", str(pid), "--subprocesses", "--duration",
         str(seconds), "--rate", "50",
         "--output", str(out), "--format", "flamegraph", "--nonblocking"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def line(label: str, r: Dict[str, float]) -> str:
    return (f"{label}: {r['messages']} messages, {r['per_s']:.1f} messages/s, p50 {r['p50']:.0f} ms, "
            f"p95 {r['p95']:.0f} ms, p99 {r['p99']:.0f} ms, {r['errors']} errors")


def default_setup(work: Path, texts: List[str], args: argparse.Namespace, report: Dict) -> None:
    """Steps 1 and 2 on `make run`'s set-up."""
    with lock_redis(work) as locks:
        store = {"tracker_store": {"type": "bot.storage.RedactingSQLTrackerStore",
                                   "dialect": "sqlite", "db": str(work / "conversations.db")},
                 "lock_store": locks.lock_store()}
        env = {**BENCH_ENV, "SANIC_WORKERS": str(args.workers)}
        actions = start_action_server(work)
        rasa = start_rasa_server(latest_model(), actions.port, work, "default", env=env,
                                 endpoints_extra=store)
        _default_setup(rasa, actions, texts, args, report)


def _default_setup(rasa: Server, actions: Server, texts: List[str], args: argparse.Namespace,
                   report: Dict) -> None:
    try:
        actions.wait_until_up("/health")
        rasa.wait_until_up()
        load([rasa.url], texts, 2, 2, "warm-default")
        spy = flame_graph(rasa.process.pid, 20, REPORTS / "profile-load.svg") if args.profile else None
        result = load([rasa.url], texts, args.senders, args.messages, "load-default")
        if spy is not None:
            spy.wait(timeout=120)
        report["one_instance_default"] = {
            **result, "workers": args.workers,
            "memory": [process_memory_mb(pid) for pid in rasa.workers()] or [memory_mb(rasa)],
            "starting_process_memory": memory_mb(rasa), "action_server_memory": memory_mb(actions)}
        print(line(f"one instance, default set-up ({args.workers} workers, SQLite, Redis locks on a "
                   "socket)", result))
        report["long_conversation"] = long_conversation(rasa.url, texts, args.turns)
        lc = report["long_conversation"]
        print(f"one conversation of {lc['turns']} turns: first ten {lc['first_10_median_ms']} ms, "
              f"last ten {lc['last_10_median_ms']} ms (x{lc['ratio']})")
    finally:
        rasa.stop()
        actions.stop()


def two_instances(work: Path, texts: List[str], args: argparse.Namespace, report: Dict) -> None:
    """Step 3: two servers on PostgreSQL + Redis, round-robin."""
    with postgres_server() as postgres, redis_server() as redis:
        shared = {"tracker_store": postgres.tracker_store(), "lock_store": redis.lock_store()}
        actions = start_action_server(work)
        servers = [start_rasa_server(latest_model(), actions.port, work, name, env=BENCH_ENV,
                                     endpoints_extra=shared) for name in ("a", "b")]
        try:
            actions.wait_until_up("/health")
            for server in servers:
                server.wait_until_up()
            urls = [s.url for s in servers]
            load(urls, texts, 2, 2, "warm-two")
            result = load(urls, texts, args.senders, args.messages, "load-two")
            report["two_instances_postgres_redis"] = {
                **result, "memory": [memory_mb(s) for s in servers]}
            print(line("two instances, PostgreSQL + Redis, round-robin", result))
        finally:
            for server in servers + [actions]:
                server.stop()


def markdown(report: Dict) -> str:
    one, two, lc = (report["one_instance_default"], report["two_instances_postgres_redis"],
                    report["long_conversation"])
    rows = [(f"one instance, default set-up ({one.get('workers', 1)} Sanic workers)", one),
            ("two instances, PostgreSQL + Redis", two)]
    lines = [f"# `make bench-load` ({report['date']})", "",
             f"{report['cores']} cores; {report['senders']} parents at once x {report['messages']} "
             "messages each, REST channel, texts from tests/nlu/heldout*.yml.", "",
             "| set-up | messages/s | p50 ms | p95 ms | p99 ms | errors | memory per Rasa process |",
             "|---|---|---|---|---|---|---|"]
    for label, r in rows:
        memory = r["memory"] if isinstance(r["memory"], list) else [r["memory"]]
        lines.append(f"| {label} | {r['per_s']:.1f} | {r['p50']:.0f} | {r['p95']:.0f} | {r['p99']:.0f} "
                     f"| {r['errors']} | " + ", ".join(
                         f"{m['rss_mb']:.0f} MB (peak {m['peak_mb']:.0f}, own share {m.get('pss_mb', 0):.0f})"
                         for m in memory) + " |")
    starting = one.get("starting_process_memory")
    lines += ["", f"Action server: {one['action_server_memory']['rss_mb']:.0f} MB."
              + (f" The default server's starting process, beside its workers: "
                 f"{starting['rss_mb']:.0f} MB (own share {starting.get('pss_mb', 0):.0f} MB). "
                 "Resident memory counts the pages a worker shares with the process it was forked "
                 "from; the own shares add up to what the server takes."
                 if starting and one.get("workers", 1) > 1 else ""), "",
              f"One conversation of {lc['turns']} turns on the default set-up: median reply "
              f"{lc['first_10_median_ms']} ms over turns 1-10, {lc['last_10_median_ms']} ms over the "
              f"last ten (x{lc['ratio']}).", ""]
    if (REPORTS / "profile-load.svg").exists():
        lines += ["Flame graph of the default server under load (py-spy): profile-load.svg", ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n")[0])
    parser.add_argument("--senders", type=int, default=20, help="parents at once (default 20)")
    parser.add_argument("--messages", type=int, default=20, help="messages each (default 20)")
    parser.add_argument("--turns", type=int, default=200, help="turns of the long conversation")
    parser.add_argument("--profile", action="store_true", help="flame graph into reports/")
    parser.add_argument("--workers", type=int, default=int(os.environ.get("SANIC_WORKERS") or 2),
                        help="Sanic workers of the default set-up (default: make run's, 2)")
    args = parser.parse_args()
    texts = [text for pairs in heldout_sets().values() for text, _ in pairs]
    work = Path(tempfile.mkdtemp(prefix="bench-load-"))
    REPORTS.mkdir(exist_ok=True)
    report: Dict = {"date": time.strftime("%Y-%m-%d %H:%M"), "cores": os.cpu_count(),
                    "senders": args.senders, "messages": args.messages}
    print(f"{os.cpu_count()} cores; {args.senders} senders x {args.messages} messages")
    default_setup(work, texts, args, report)
    two_instances(work, texts, args, report)
    (REPORTS / "bench-load.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    (REPORTS / "bench-load.md").write_text(markdown(report), encoding="utf-8")
    print("Written: reports/bench-load.md, reports/bench-load.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
