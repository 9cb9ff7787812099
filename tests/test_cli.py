"""`python -m bot` for comms staff: check, new-topic, review and evaluate, run as they would be."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import PROJECT_DIR
from tests.support.processes import BIN, SERVER_ENV


def run_bot(*args: str, project: Path = PROJECT_DIR) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "python"), "-m", "bot", *args], cwd=project,
                          env={**SERVER_ENV, "ASSISTANT_DIR": str(project)},
                          capture_output=True, text=True, check=False)


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, count))


def test_check_passes_on_main():
    result = run_bot("check")
    assert result.returncode == 0, result.stdout
    assert "0 error(s)" in result.stdout


def test_help_for_every_command():
    for command in ("check", "evaluate", "review", "new-topic"):
        result = run_bot(command, "--help")
        assert result.returncode == 0 and "usage: python -m bot" in result.stdout


def break_link(project: Path) -> str:
    edit(project / "data/content/answers/friends.yml",
         "      - https://www.nspcc.org.uk/keeping-children-safe/online-safety/",
         "      - https://www.example.com/friends-tips")
    return r"data/content/answers/friends.yml:\d+: error: \w+: https://www.example.com/friends-tips " \
           r"is not on an official site"


def remove_sources(project: Path) -> str:
    path = project / "data/content/answers/family.yml"
    data = yaml.safe_load(path.read_text())
    data["answers"]["screen_time"]["sources"] = []
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return r"data/content/answers/family.yml:\d+: error: screen_time: add at least one source"


def too_few_examples(project: Path) -> str:
    path = project / "data/nlu/ai.yml"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:10]) + "\n")
    shutil.rmtree(project / "data/nlu/voices")  # the examples in other writers' voices too
    return r"error: topic 'ai_chatbots' has \d+ examples; write at least 30"


def example_in_two_intents(project: Path) -> str:
    edit(project / "data/nlu/family.yml", "  examples: |\n",
         "  examples: |\n    - how can i see who my daughter is friends with on snapchat and tiktok\n")
    edit(project / "data/nlu/friends.yml", "  examples: |\n",
         "  examples: |\n    - how can I see who my daughter is friends with on Snapchat and TikTok?\n")
    return r"data/nlu/friends.yml:\d+: error: .* is also an example of '\w+' \(family.yml:\d+\)"


def overlong_message(project: Path) -> str:
    path = project / "data/content/answers/gaming.yml"
    data = yaml.safe_load(path.read_text())
    data["answers"]["online_gaming"]["messages"][0] = "Play together first. " * 40
    path.write_text(yaml.safe_dump(data, sort_keys=False, width=1000))
    return r"error: online_gaming: a message is \d+ characters .* keep each under 640"


def rule_names_a_later_message(project: Path) -> str:
    edit(project / "data/rules/handoffs.yml", "      - action: utter_sextortion\n",
         "      - action: utter_sextortion\n      - action: utter_sextortion_2\n")
    return r"data/rules/handoffs.yml:\d+: error: .* names utter_sextortion_2: name only utter_sextortion"


def link_inside_a_message(project: Path) -> str:
    path = project / "data/content/answers/gaming.yml"
    data = yaml.safe_load(path.read_text())
    data["answers"]["online_gaming"]["messages"][0] += " Free robux: http://example.com/free-robux"
    path.write_text(yaml.safe_dump(data, sort_keys=False, width=1000))
    return (r"data/content/answers/gaming.yml:\d+: error: online_gaming: "
            r"http://example.com/free-robux must be a full https:// link")


def off_list_link_in_an_app_entry(project: Path) -> str:
    edit(project / "data/content/apps.yml", "      A platform of games that other users build.",
         "      A platform of games that other users build (see https://example.com/roblox-tips).")
    return (r"data/content/apps.yml:\d+: error: roblox: https://example.com/roblox-tips is not on "
            r"an official site")


def cites_a_source_not_in_the_fact_sheet(project: Path) -> str:
    edit(project / "data/content/answers/friends.yml", "(fact sheet S29)", "(fact sheet S29, S999)")
    return r"data/content/answers/friends.yml:\d+: error: S999 is not a source in docs/reference/facts.md"


def rule_forgets_its_answer(project: Path) -> str:
    edit(project / "data/rules/handoffs.yml", "      - action: utter_sextortion\n", "")
    return r"data/rules/handoffs.yml:\d+: error: rule .* does not send the answer to 'sextortion'"


def routing_names_an_unknown_topic(project: Path) -> str:
    edit(project / "data/content/routing.yml", "      topic: child_support\n",
         "      topic: childline_help\n")
    return r"data/content/routing.yml:\d+: error: childline: 'childline_help' is not a topic"


@pytest.mark.parametrize("mistake", [break_link, remove_sources, too_few_examples,
                                     example_in_two_intents, overlong_message,
                                     rule_names_a_later_message, rule_forgets_its_answer,
                                     cites_a_source_not_in_the_fact_sheet, link_inside_a_message,
                                     off_list_link_in_an_app_entry, routing_names_an_unknown_topic])
def test_check_fails_naming_the_file_line_and_fix(project, mistake):
    expected = mistake(project)
    result = run_bot("check", "--skip-rasa", project=project)
    assert result.returncode == 1
    assert re.search(expected, result.stdout), result.stdout
    assert "Fix the errors above" in result.stdout


def test_new_topic_scaffolds_files_that_check_accepts_once_filled_in(project):
    result = run_bot("new-topic", "sharenting", project=project)
    assert result.returncode == 0, result.stdout
    assert "sharenting" in yaml.safe_load((project / "domain.yml").read_text())["intents"]
    failing = run_bot("check", "--skip-rasa", project=project)
    assert failing.returncode == 1 and "replace the placeholder" in failing.stdout

    nlu = project / "data/nlu/sharenting.yml"
    examples = "\n".join(f"    - is it ok to post photo number {i} of my kids online" for i in range(32))
    nlu.write_text(re.sub(r"(?s)  examples: \|\n.*", "  examples: |\n" + examples + "\n", nlu.read_text()))
    answer = project / "data/content/answers/sharenting.yml"
    text = answer.read_text()
    text = text.replace("TODO button label", "Posting photos")
    text = text.replace("TODO: where this advice comes from", "NSPCC online safety advice (S29)")
    text = text.replace("TODO: the advice, the action first, in plain words.",
                        "Ask your child before you post, and keep school uniforms out of shot.")
    answer.write_text(text)
    edit(project / "tests/stories/test_conversations.yml",
         "TODO: a question a parent might ask, not one of the examples",
         "should i put pictures of my kids on facebook")
    passing = run_bot("check", project=project)  # with rasa data validate, through our importer
    assert passing.returncode == 0, passing.stdout


def write_tracker(db: Path) -> None:
    """A stored conversation: a message the assistant did not understand, with an email in it."""
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(db))
    tracker = DialogueStateTracker("parent-1", slots=[])
    fallback = {"intent": {"name": "nlu_fallback", "confidence": 0.3},
                "intent_ranking": [{"name": "nlu_fallback", "confidence": 0.3},
                                   {"name": "screen_time", "confidence": 0.22}]}
    understood = {"intent": {"name": "greet", "confidence": 0.97},
                  "intent_ranking": [{"name": "greet", "confidence": 0.97}]}
    now = time.time()
    tracker.update(UserUttered("hello", understood["intent"], parse_data=understood, timestamp=now))
    tracker.update(UserUttered("he's on that thing all night, email me at jo@example.com",
                               fallback["intent"], parse_data=fallback, timestamp=now))
    asyncio.run(store.save(tracker))


def test_review_lists_what_was_not_understood_with_details_removed(tmp_path):
    db = tmp_path / "conversations.db"
    write_tracker(db)
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(f"tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: {db}\n")
    snippet = tmp_path / "review.yml"
    result = run_bot("review", "--since", "2020-01-01", "--endpoints", str(endpoints),
                     "--yaml", str(snippet))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Closest topic: screen_time" in result.stdout
    assert "he's on that thing all night, email me at [email]" in result.stdout
    assert "jo@example.com" not in result.stdout + snippet.read_text()
    assert "hello" not in result.stdout
    parsed = yaml.safe_load(snippet.read_text())
    assert parsed["nlu"][0]["intent"] == "screen_time"


def test_evaluate_writes_a_report_and_compares_with_the_last(model_path, tmp_path):
    from bot.staff import evaluation

    first = evaluation.evaluate(model_path, tmp_path)
    assert first["changes"] == ["No earlier report to compare with."]
    assert first["accuracy"] >= 0.95
    report = (tmp_path / "evaluation.md").read_text()
    assert "| topic | accuracy |" in report and "## Worst confusions" in report
    assert (tmp_path / "confusion.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads((tmp_path / "evaluation.json").read_text())
    summary["accuracy"] += 0.05  # as if the last run had been better
    summary["accuracy_by_topic"]["greet"] = 1.5
    (tmp_path / "evaluation.json").write_text(json.dumps(summary))
    second = evaluation.evaluate(model_path, tmp_path)
    assert second["changes"][0].endswith("**WORSE**")
    assert any(line.startswith("- greet: 1.50 ->") and "**WORSE**" in line
               for line in second["changes"])
