"""`make bench`: training time, start-up time, accuracy on every labelled set (ours, DIET and a
plain TF-IDF + logistic regression side by side, all trained on the same data; for ours also the
hand-offs that showed the right help and the calm messages sent to a hand-off, per set, and per
topic in reports/bench-sets.md), parse latency, and REST round trips with 1 and with 20
concurrent senders. Figures only; no thresholds.

    python -m bench [--skip-diet] [--diet-transformer] [--set FILE ...]

`make bench EVAL_SETS="path/one.yml path/two.yml"` adds labelled files kept outside the
repository (such as the team's field sample) beside ours.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import yaml

from bot.content import PROJECT_DIR
from bot.staff import evaluation
from tests.support.processes import BIN, SERVER_ENV, api_headers, start_action_server, start_rasa_server


def heldout_sets() -> Dict[str, List[Tuple[str, str]]]:
    """Every held-out file in tests/nlu, as (text, topic) pairs, less any word for word in training
    (the messages `python -m bot evaluate` scores)."""
    sets: Dict[str, List[Tuple[str, str]]] = defaultdict(list)
    for source, text, topic in evaluation.heldout():
        sets[source].append((text, topic))
    return dict(sets)


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def accuracy(pairs: List[Tuple[str, str]], predict: Callable[[List[str]], List[str]]) -> float:
    predicted = predict([text for text, _ in pairs])
    return sum(p == topic for p, (_, topic) in zip(predicted, pairs)) / len(pairs)


def rasa_nlu_predictor(model_path: Path) -> Callable[[List[str]], List[str]]:
    """Predictions of a trained Rasa model, in process (what `python -m bot evaluate` scores)."""
    read = evaluation.parser(model_path)
    return lambda texts: [p.predicted for p in read([("", text, "") for text in texts])]


def train(config: Path, out: Path, nlu_only: bool = False) -> Tuple[Path, float]:
    """Train a fresh model (no cache) and return its path and the seconds it took."""
    command = [str(BIN / "rasa"), "train"] + (["nlu"] if nlu_only else ["--force"]) + [
        "--config", str(config), "--out", str(out), "--quiet"]
    started = time.monotonic()
    # An empty cache of its own, so nothing trained earlier is reused.
    env = {**SERVER_ENV, "RASA_CACHE_DIRECTORY": str(out / "cache")}
    subprocess.run(command, cwd=PROJECT_DIR, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seconds = time.monotonic() - started
    return next(out.glob("*.tar.gz")), seconds


def diet_config(target: Path, transformer: bool) -> Path:
    """Our config.yml with DIET in place of our classifier: the same features."""
    config = yaml.safe_load((PROJECT_DIR / "config.yml").read_text())
    pipeline = []
    for component in config["pipeline"]:
        if component["name"].endswith("CalibratedLinearIntentClassifier"):
            component = {"name": "DIETClassifier", "epochs": 100, "entity_recognition": False,
                         "constrain_similarities": True, "random_seed": 42}
            if not transformer:
                component["number_of_transformer_layers"] = 0
        pipeline.append(component)
    config["pipeline"] = pipeline
    target.write_text(yaml.safe_dump(config))
    return target


def post(url: str, payload: dict, headers: Optional[dict] = None) -> Tuple[int, float]:
    request = urllib.request.Request(url, data=json.dumps(payload).encode(),
                                     headers={"Content-Type": "application/json", **(headers or {})})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as response:
        response.read()
        return response.status, time.perf_counter() - started


def send(url: str, sender: str, text: str) -> Tuple[bool, float]:
    """One message to a REST webhook: (answered with 200, seconds)."""
    body = json.dumps({"sender": sender, "message": text}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            response.read()
            ok = response.status == 200
    except (urllib.error.URLError, OSError):
        ok = False
    return ok, time.perf_counter() - started


def load(urls: List[str], texts: List[str], senders: int, messages: int, tag: str) -> Dict[str, float]:
    """`senders` parents at once, each sending `messages` messages one after another; each message
    goes to the next server in `urls` (round-robin)."""
    next_url = itertools.cycle(urls)
    lock = threading.Lock()

    def one_sender(index: int) -> List[Tuple[bool, float]]:
        results = []
        for turn in range(messages):
            with lock:
                url = next(next_url)
            results.append(send(url + "/webhooks/rest/webhook", f"{tag}-{index}",
                                texts[(index * messages + turn) % len(texts)]))
        return results

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=senders) as pool:
        results = [r for batch in pool.map(one_sender, range(senders)) for r in batch]
    elapsed = time.perf_counter() - started
    latencies = [seconds for _, seconds in results]
    return {"messages": len(results), "errors": sum(not ok for ok, _ in results),
            "per_s": len(results) / elapsed, "p50": 1000 * percentile(latencies, 0.5),
            "p95": 1000 * percentile(latencies, 0.95), "p99": 1000 * percentile(latencies, 0.99)}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--skip-diet", action="store_true", help="do not train the DIET comparison")
    parser.add_argument("--diet-transformer", action="store_true",
                        help="DIET with its default 2-layer transformer (about 15 min on 2 cores)")
    parser.add_argument("--set", action="append", type=Path, default=[], metavar="FILE",
                        help="another labelled file to score beside ours (as `python -m bot evaluate`)")
    args = parser.parse_args()
    sets = heldout_sets()
    work = Path(tempfile.mkdtemp(prefix="bench-"))
    report: Dict[str, object] = {}

    ours, report["training_s"] = train(PROJECT_DIR / "config.yml", work / "ours")
    print(f"training (full model, no cache): {report['training_s']:.1f} s")

    actions = start_action_server(work)
    rasa = start_rasa_server(ours, actions.port, work)
    try:
        actions.wait_until_up("/health")
        rasa.wait_until_up()
        status, _ = post(rasa.url + "/webhooks/rest/webhook", {"sender": "bench", "message": "hi"})
        report["startup_s"] = time.monotonic() - rasa.started_at
        print(f"server start-up (process start to first answer): {report['startup_s']:.1f} s")

        texts = [text for pairs in sets.values() for text, _ in pairs]
        headers = api_headers()
        parse_latencies = [post(rasa.url + "/model/parse", {"text": t}, headers)[1] for t in texts]
        report["parse_p50_ms"] = 1000 * statistics.median(parse_latencies)
        report["parse_p95_ms"] = 1000 * percentile(parse_latencies, 0.95)
        print(f"parse latency over HTTP ({len(texts)} held-out messages): "
              f"p50 {report['parse_p50_ms']:.1f} ms, p95 {report['parse_p95_ms']:.1f} ms")

        for senders, per_sender in ((1, 40), (20, 10)):
            result = load([rasa.url], texts, senders, per_sender, f"bench-{senders}")
            report[f"rest_{senders}"] = result
            print(f"REST round trip, {senders:2d} concurrent sender(s), {result['messages']} messages: "
                  f"p50 {result['p50']:.0f} ms, p95 {result['p95']:.0f} ms, "
                  f"{result['per_s']:.1f} messages/s, {result['errors']} errors")
    finally:
        rasa.stop()
        actions.stop()

    started = time.monotonic()
    figures, _ = evaluation.score_sets(ours, args.set)
    print(f"every labelled set, ours and the plain TF-IDF + LR ({time.monotonic() - started:.0f} s):")
    for name, f in figures.items():
        print(f"  {name} (n={f['examples']}): accuracy {f['accuracy']:.3f} (TF-IDF + LR "
              f"{f['baseline_accuracy']:.3f}), top-3 {f['top3']:.3f}, hand-offs with the right help "
              f"{f['handoff_right_help']:.3f} of {f['handoffs']}, calm sent to a hand-off "
              f"{f['calm_to_handoff']:.3f}, not understood {f['not_understood']}")
    (PROJECT_DIR / "reports").mkdir(exist_ok=True)
    (PROJECT_DIR / "reports" / "bench-sets.md").write_text(
        "\n".join(["# Every labelled set, from `make bench`", ""] + evaluation.sets_markdown(figures)),
        encoding="utf-8")
    print("  per topic: reports/bench-sets.md")
    if not args.skip_diet:
        config = diet_config(work / "diet.yml", args.diet_transformer)
        diet, seconds = train(config, work / "diet", nlu_only=True)
        label = "DIET" + (" (2-layer transformer)" if args.diet_transformer else " (no transformer)")
        print(f"{label} NLU training: {seconds:.1f} s")
        predict = rasa_nlu_predictor(diet)
        for labelled in evaluation.labelled_sets(args.set):
            print(f"  {label}, same features, {labelled.name}: "
                  f"{accuracy(labelled.examples, predict):.3f} (n={len(labelled.examples)})")
    return 0

