"""`python -m bot report --out DIR`: one self-contained web page (DIR/index.html) on how parents use
the assistant, read straight from the conversation store, for comms staff. Figures only: the
few messages it quotes are redacted again before they are shown."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple

from bot.privacy import redact
from bot.staff.report_charts import horizontal_bars, line_chart, page, section, stacked_bars, table
from bot.topics import handoff_topics

FALLBACK = "nlu_fallback"
FEEDBACK = "feedback"
# Intents that are not a question on a topic: feedback rates the last message that was one.
NOT_RATED = frozenset({FEEDBACK, "greet", "goodbye", "thank", "affirm", "deny", FALLBACK})
CHANNELS = {"rest": "REST API", "webchat": "Web chat", "facebook": "Messenger", "other": "Other"}
UNKNOWN_TOPIC = "(topic not known)"
DEFAULT_NLU = "data/nlu/"
TOP_TOPICS, TOP_NOT_UNDERSTOOD, TREND_WEEKS = 20, 30, 4
_LABEL_OR_WORD = re.compile(r"\[[a-z_]+\]|[^\W_]+")  # [name]-style labels count as words


@dataclass(frozen=True)
class NotUnderstoodGroup:
    count: int
    example: str          # redacted
    closest_topic: str
    hint: str


@dataclass
class Report:
    """What the page shows: counts by week (the Monday it begins), channel and topic."""

    made: dt.datetime
    start: Optional[dt.date]
    end: Optional[dt.date]
    weeks: List[dt.date]
    conversations: Counter      # (week, channel) -> conversations begun that week
    messages: Counter           # (week, channel) -> messages parents typed (no button presses)
    user_messages: Counter      # week -> every parent message, button presses too
    fallbacks: Counter          # week -> messages not understood
    topics: Counter             # topic -> messages
    handoffs: Counter           # (week, hand-off topic) -> messages
    feedback: Dict[str, List[int]]  # topic -> [helpful, not helpful]
    not_understood: List[NotUnderstoodGroup]

    @property
    def channels(self) -> List[str]:
        used = {channel for _, channel in [*self.conversations, *self.messages]}
        return [c for c in CHANNELS if c != "other" or c in used]


def _feedback_value(parse: dict) -> Optional[bool]:
    for entity in parse.get("entities") or ():
        if entity.get("entity") == "helpful":
            value = entity.get("value")
            if isinstance(value, str):
                value = {"true": True, "false": False}.get(value.strip().lower())
            return value if isinstance(value, bool) else None
    return None


def normalised(text: str) -> str:
    """Lower case, letters and digits only, [name]-style labels kept: alike messages group."""
    return " ".join(_LABEL_OR_WORD.findall(text.lower()))


def build_report(
    rows: Iterable[Tuple[str, str]], now: dt.datetime, since: Optional[dt.date] = None
) -> Report:
    """Count the stored events (sender_id, data as JSON), in the order they were stored."""
    handoff_kinds = handoff_topics()
    conversations: Counter = Counter()
    messages: Counter = Counter()
    user_messages: Counter = Counter()
    fallbacks: Counter = Counter()
    topics: Counter = Counter()
    handoffs: Counter = Counter()
    feedback: Dict[str, List[int]] = defaultdict(lambda: [0, 0])
    groups: Dict[str, list] = {}  # normalised text -> [count, first text, Counter of closest topics]
    last_topic: Dict[str, str] = {}  # sender -> the last topic asked: what feedback rates
    week_of_day: Dict[int, dt.date] = {}
    first, last = float("inf"), float("-inf")
    loads = json.loads
    # The hot loop: a million rows for 100,000 conversations, so one json.loads and dict lookups.
    for sender, data in rows:
        event = loads(data) if data else {}
        if event.get("event") != "user":
            continue
        timestamp = event.get("timestamp") or 0.0
        first, last = min(first, timestamp), max(last, timestamp)
        day = int(timestamp // 86400)
        week = week_of_day.get(day)
        if week is None:
            date = dt.date(1970, 1, 1) + dt.timedelta(days=day)
            week = week_of_day[day] = date - dt.timedelta(days=date.weekday())
        channel = event.get("input_channel")
        channel = channel if channel in CHANNELS else "other"
        if sender not in last_topic:
            last_topic[sender] = UNKNOWN_TOPIC
            conversations[week, channel] += 1
        text = event.get("text") or ""
        typed = not text.startswith("/")
        if typed:
            messages[week, channel] += 1
        user_messages[week] += 1
        parse = event.get("parse_data") or {}
        intent = (parse.get("intent") or {}).get("name") or UNKNOWN_TOPIC
        if intent == FALLBACK:
            fallbacks[week] += 1
            if typed:
                ranking = [r.get("name") for r in parse.get("intent_ranking") or ()
                           if r.get("name") != FALLBACK]
                group = groups.setdefault(normalised(text), [0, text, Counter()])
                group[0] += 1
                group[2][ranking[0] if ranking else UNKNOWN_TOPIC] += 1
        elif intent == FEEDBACK:
            helpful = _feedback_value(parse)
            if helpful is not None:
                feedback[last_topic[sender]][0 if helpful else 1] += 1
        else:
            topics[intent] += 1
            if intent in handoff_kinds:
                handoffs[week, intent] += 1
            if intent not in NOT_RATED:
                last_topic[sender] = intent
    start = since or (_utc_date(first) if last_topic else None)
    end = _utc_date(last) if last_topic else None
    weeks = []
    if start and end:
        week = start - dt.timedelta(days=start.weekday())
        while week <= end:
            weeks.append(week)
            week += dt.timedelta(days=7)
    return Report(now, start, end, weeks, conversations, messages, user_messages, fallbacks, topics,
                  handoffs, dict(feedback), _top_groups(groups))


def _utc_date(timestamp: float) -> dt.date:
    return dt.datetime.fromtimestamp(timestamp, dt.timezone.utc).date()


def _top_groups(groups: Dict[str, list]) -> List[NotUnderstoodGroup]:
    top = sorted(groups.values(), key=lambda g: -g[0])[:TOP_NOT_UNDERSTOOD]
    found = []
    for count, text, closest in top:
        topic = closest.most_common(1)[0][0]
        where = nlu_files().get(topic)
        hint = (f"If it means {topic}, add it under {topic} in {where}" if where else
                f"Decide which topic it means, and add it under that topic in {DEFAULT_NLU}")
        # Stored text is redacted already; this is a second line of defence before it is shown.
        found.append(NotUnderstoodGroup(count, redact(text), topic, hint))
    return found


@lru_cache(maxsize=1)
def nlu_files() -> Dict[str, str]:
    """Each topic -> the data/nlu file (relative to the project) that holds most of its examples."""
    from bot.content import PROJECT_DIR
    from bot.staff.training_data import load_examples

    counts: Dict[str, Counter] = defaultdict(Counter)
    for example in load_examples():
        try:
            counts[example.intent][example.path.relative_to(PROJECT_DIR).as_posix()] += 1
        except ValueError:
            counts[example.intent][DEFAULT_NLU + example.path.name] += 1
    return {intent: files.most_common(1)[0][0] for intent, files in counts.items()}


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "–"


def trend_in_words(rates: List[Tuple[dt.date, float]]) -> str:
    """The not-understood rate over the last few weeks that had messages, in a sentence."""
    recent = rates[-TREND_WEEKS:]
    if not recent:
        return "No messages in this period."
    if len(recent) == 1:
        return f"Only one week with messages: {recent[0][1]:.0f}%."
    before, after = round(recent[0][1]), round(recent[-1][1])
    span = f"over the last {len(recent)} weeks"
    if before == after:
        return f"Unchanged at {after}% {span}."
    return f"{'Down' if after < before else 'Up'} from {before}% to {after}% {span}."


def _day(date: Optional[dt.date]) -> str:
    return f"{date.day} {date:%B %Y}" if date else "no conversations yet"


def render_html(report: Report) -> str:
    """The report as one HTML page: inline CSS and SVG, no scripts, nothing fetched."""
    r, weeks = report, report.weeks
    labels = [w.isoformat() for w in weeks]
    names = [CHANNELS[c] for c in r.channels]
    typed, asked = sum(r.messages.values()), sum(r.user_messages.values())
    not_understood, handed_on = sum(r.fallbacks.values()), sum(r.handoffs.values())
    helpful = sum(h for h, _ in r.feedback.values())
    unhelpful = sum(n for _, n in r.feedback.values())
    conversations = sum(r.conversations.values())
    summary = table("summary", "Summary for the period", ["Measure", "Number"], [
        ["Conversations", conversations], ["Messages parents typed", typed],
        ["Not understood", f"{percent(not_understood, asked)} ({not_understood:,} of {asked:,} messages)"],
        ["Hand-offs (to 999, CEOP and other help)", handed_on],
        ["Answers rated helpful", helpful], ["Answers rated not helpful", unhelpful]])
    parts = [section("Summary", f"Conversations and messages from {_day(r.start)} to {_day(r.end)}. "
                     "Button presses are not counted as typed messages.", summary)]
    for key, title, counts, what in (
            ("conversations", "Conversations per week", r.conversations, "conversations begun"),
            ("messages", "Messages per week", r.messages, "messages typed by parents")):
        series = {CHANNELS[c]: [counts[w, c] for w in weeks] for c in r.channels}
        totals = {name: sum(values) for name, values in series.items()}
        words = ", ".join(f"{name} {n:,}" for name, n in totals.items())
        rows = [[label, *(series[n][i] for n in names)] for i, label in enumerate(labels)]
        chart = stacked_bars(labels, series, what.capitalize(), f"{title}: {words}") if weeks else ""
        parts.append(section(title, f"Number of {what} each week, by channel. In all: {words}.", chart,
                             table(key, f"{title} by channel", ["Week beginning", *names],
                                   rows + [["Total", *totals.values()]])))
    top = r.topics.most_common(TOP_TOPICS)
    words = ", ".join(f"{t} {n:,}" for t, n in top[:5]) or "none"
    parts.append(section(
        "Topics parents asked about", f"The {len(top)} most asked topics, typed or from buttons "
        f"(not-understood messages and feedback not included). Most asked: {words}.",
        horizontal_bars([t for t, _ in top], [n for _, n in top], "Messages", f"Most asked: {words}")
        if top else "", table("topics", "Most asked topics", ["Topic", "Messages"], [list(t) for t in top])))
    rates = [(w, 100 * r.fallbacks[w] / r.user_messages[w]) for w in weeks if r.user_messages[w]]
    trend = trend_in_words(rates)
    parts.append(section(
        "Messages not understood", f"Percent of all parent messages each week that the assistant did "
        f"not understand. {trend}",
        line_chart(labels, [100 * r.fallbacks[w] / r.user_messages[w] if r.user_messages[w] else None
                            for w in weeks], "Percent not understood", trend) if weeks else "",
        table("not-understood-rate", "Messages not understood per week",
              ["Week beginning", "Not understood", "All messages", "Percent"],
              [[w.isoformat(), r.fallbacks[w], r.user_messages[w],
                percent(r.fallbacks[w], r.user_messages[w])] for w in weeks])))
    kinds = sorted({kind for _, kind in r.handoffs})
    series = {k: [r.handoffs[w, k] for w in weeks] for k in kinds}
    words = ", ".join(f"{k} {sum(v):,}" for k, v in series.items()) or "none"
    parts.append(section(
        "Hand-offs by kind", f"Messages that were handed on to 999, CEOP or other help, each week. "
        f"In all: {words}.",
        stacked_bars(labels, series, "Hand-offs", f"Hand-offs per week: {words}") if weeks else "",
        table("handoffs", "Hand-offs per week by kind", ["Week beginning", *kinds, "Total"],
              [[w.isoformat(), *(series[k][i] for k in kinds), sum(series[k][i] for k in kinds)]
               for i, w in enumerate(weeks)])))
    rated = sorted(r.feedback.items(), key=lambda item: (-item[1][1], -item[1][0], item[0]))
    parts.append(section(
        "Was the answer helpful?", f"What parents said when asked \"Was this helpful?\", by the topic "
        f"of the answer, most \"not helpful\" first. In all: {helpful:,} helpful, {unhelpful:,} not.",
        table("feedback", "Helpful and not helpful, per answer",
              ["Answer (topic)", "Not helpful", "Helpful", "Percent helpful"],
              [[t, n, h, percent(h, h + n)] for t, (h, n) in rated])))
    parts.append(section(
        "Most common messages not understood", "What parents typed that the assistant did not "
        "understand, alike messages grouped, with personal details removed. Adding them as training "
        "examples (then python -m bot check) teaches it.",
        table("not-understood", "Most common messages not understood",
              ["Example", "Times", "Closest topic", "Where to add it"],
              [[g.example, g.count, g.closest_topic, g.hint] for g in r.not_understood])))
    made = f"{_day(r.made.date())} at {r.made:%H:%M}"
    return page("How parents use the online safety assistant",
                [f"Period covered: {_day(r.start)} to {_day(r.end)}. Weeks begin on Monday (UTC).",
                 f"Report made {made}."], parts)


def _rows(store: Any, since: Optional[dt.date]) -> Iterator[Tuple[str, str]]:
    """Every parent message in the store (sender_id, data), in the order stored, streamed."""
    import sqlalchemy as sa

    event = store.SQLEvent
    query = sa.select(event.sender_id, event.data).where(event.type_name == "user").order_by(event.id)
    if since is not None:
        start = dt.datetime.combine(since, dt.time(), tzinfo=dt.timezone.utc).timestamp()
        query = query.where(event.timestamp >= start)
    with store.engine.connect() as connection:
        result = connection.execution_options(stream_results=True).execute(query)
        for partition in result.partitions(5000):
            yield from partition


def write_report(endpoints: Path, out: Path, since: Optional[dt.date] = None) -> Path:
    """Write the report on the conversations kept in `endpoints`' tracker store to out/index.html."""
    from rasa.core.tracker_store import create_tracker_store
    from rasa.utils.endpoints import read_endpoint_config

    config = read_endpoint_config(str(endpoints), "tracker_store")
    if config is None:
        raise SystemExit(f"{endpoints} keeps no conversations (no tracker_store): nothing to report.")
    store = create_tracker_store(config)
    store = getattr(store, "_tracker_store", store)  # a sync store comes wrapped by Rasa
    if not hasattr(store, "SQLEvent"):
        raise SystemExit(f"{endpoints}: the report reads SQL tracker stores only.")
    report = build_report(_rows(store, since), dt.datetime.now(), since)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "index.html"
    path.write_text(render_html(report), encoding="utf-8")
    return path
