"""`python -m bot explain "MESSAGE"`: how the assistant reads one message and answers it, for comms
staff and developers: the topic and its confidence, the runners-up, what the language gate and the
safety net did, the rule or action that answers, and where the words of the reply are written, as
path:line. Runs the trained model (models/assistant.tar.gz) in this process, with no action server
and no stored conversation.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml

from bot import content
from bot.content import PROJECT_DIR
from bot.staff.problems import line_of

MODEL = PROJECT_DIR / "models" / "assistant.tar.gz"
RULES_DIR = PROJECT_DIR / "data" / "rules"
ACTION_FILES = {
    "action_app_guide": "actions/app_guide.py (words: bot/apps/guide.py and the app's entry)",
    "action_suggest_topics": "actions/suggest_topics.py",
    "action_handoff_summary": "actions/handoff.py (words: data/content/handoff_summaries.yml)",
}


def where(path: Path, line: int) -> str:
    return f"{path.relative_to(PROJECT_DIR)}:{line}"


def rule_for(intent: str) -> Optional[str]:
    """The hand-written rule that starts with this intent (path:line and its name), if any."""
    for path in sorted(RULES_DIR.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for rule in data.get("rules") or []:
            steps = rule.get("steps") or []
            if not rule.get("condition") and steps and steps[0].get("intent") == intent:
                lines = path.read_text(encoding="utf-8").splitlines()
                line = next((n for n, text in enumerate(lines, 1) if rule["rule"] in text), 1)
                return f'{where(path, line)} "{rule["rule"]}"'
    return None


def words_of(actions: List[str], entities: List[Dict[str, Any]]) -> List[str]:
    """Where the words of the reply are written: answer entries, system messages, the app entry
    and the contacts their placeholders use, each as path:line."""
    from bot.importer import rated_topics

    answers, system = content.load_answers(), content.load_system_messages()
    found: List[str] = []
    placeholders: List[str] = []
    rated = rated_topics()
    # An advice or app answer's response ends with "Was this helpful?" (bot/importer.py).
    actions = [more for action in actions for more in (
        [action, content.ASK_HELPFUL] if action.removeprefix("utter_") in rated else [action])]
    for action in actions:
        name = action.removeprefix("utter_")
        if action.startswith("utter_") and name in answers:
            answer = answers[name]
            line = f"{where(answer.path, line_of(answer.path, name))}  the answer '{name}'"
            placeholders += [p for text in answer.messages for p in content.placeholders_in(text)]
        elif action.startswith("utter_") and name in system:
            line = f"{where(content.SYSTEM_FILE, line_of(content.SYSTEM_FILE, name))}  '{name}'"
            placeholders += content.placeholders_in(system[name]["text"])
        else:
            continue
        if line not in found:
            found.append(line)
    apps_file = content.CONTENT_DIR / "apps.yml"
    for entity in entities:
        if entity.get("entity") == "app" and "action_app_guide" in actions:
            found.append(f"{where(apps_file, line_of(apps_file, str(entity['value'])))}  "
                         f"the app '{entity['value']}'")
    for name in dict.fromkeys(placeholders):
        found.append(f"{where(content.CONTACTS_FILE, line_of(content.CONTACTS_FILE, name))}  "
                     f"{{{name}}}")
    return found


async def _run(text: str, model: Path) -> Dict[str, Any]:
    import logging

    from rasa.core.agent import Agent
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    # Rasa's own log lines are not for staff (nor is the missing action server: nothing is run).
    configure_logging_and_warnings(logging.CRITICAL)
    configure_structlog(logging.CRITICAL)
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
    from rasa.shared.core.events import ActionExecuted

    agent = Agent.load(str(model))
    parsed = await agent.parse_message(text)
    collector = CollectingOutputChannel()
    await agent.handle_message(UserMessage(text, collector, "explain"))
    tracker = await agent.tracker_store.retrieve("explain")
    actions = [e.action_name for e in tracker.events if isinstance(e, ActionExecuted)
               and e.action_name not in ("action_listen", "action_session_start")]
    return {"parsed": parsed, "actions": actions}


def explain(text: str, model: Path = MODEL) -> str:
    """The explanation of one message, as lines of plain text."""
    from bot.nlu.safety_net import SAFETY_NET_KEY
    from bot.safeguarding import danger

    result = asyncio.run(_run(text, model))
    parsed, actions = result["parsed"], result["actions"]
    intent = parsed.get("intent") or {}
    ranking = [r for r in parsed.get("intent_ranking") or [] if r.get("name") != intent.get("name")]
    lines = [f'Message: "{text}"',
             f"Topic: {intent.get('name')} (confidence {float(intent.get('confidence') or 0):.2f})",
             "Runners-up: " + (", ".join(f"{r['name']} {float(r['confidence']):.2f}"
                                         for r in ranking[:3]) or "none")]
    language = parsed.get("language")
    lines.append(f"Language gate: read as {language}, answered in English only" if language
                 else "Language gate: English, passed")
    net = parsed.get(SAFETY_NET_KEY)
    if net:
        signals = danger.SIGNALS_FILE
        lines.append(f"Safety net: stepped in (signal '{net['signal']}', "
                     f"{where(signals, line_of(signals, net['handoff']))}): sent to "
                     f"{net['handoff']} instead of {net['model_intent']}")
    else:
        lines.append("Safety net: did not step in")
    entities = parsed.get("entities") or []
    if entities:
        lines.append("Found: " + ", ".join(f"{e['entity']} {e['value']}" for e in entities))
    topic = str(intent.get("name"))
    rule = rule_for(topic)
    lines.append(f"Rule: {rule}" if rule else
                 f"Rule: 'answer {topic}', made by bot/importer.py (python -m bot generated)")
    lines.append("Answered with: " + ", ".join(
        f"{a} ({ACTION_FILES[a]})" if a in ACTION_FILES else a for a in actions))
    lines.append("Where the words are:")
    lines += [f"  {w}" for w in words_of(actions, entities)] or ["  (no curated words)"]
    return "\n".join(lines)
