"""Tools for the people who look after the assistant: `python -m bot <command> --help`.

  check       check every answer and training example (seconds, no training)
  evaluate    train if needed, then score the model on the held-out messages
  review      messages the assistant did not understand, from the stored conversations
  new-topic   start a new topic: intent, examples, answer and a conversation test to fill in
  purge       delete everything stored that is older than a number of days (default 30)
  generated   the responses and rules made from data/content at training time
  explain     how the assistant reads one message, and where the words of its reply are
  story       a stored conversation as a conversation test (or --training story) to correct
  report      what parents ask and how it is going: one page with charts (--out DIR)
  messenger-setup  the page's Messenger greeting, Get Started button and menu (--dry-run)
  api-token   a token for Rasa's HTTP API (Authorization: Bearer ...), signed with RASA_JWT_SECRET
  shell       chat with a running assistant in the terminal (`make shell` starts both)
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import List, Optional


def _build_spacy(args: argparse.Namespace) -> int:
    from bot import spacy_model

    print(f"spaCy pipeline written to {spacy_model.build()}")
    return 0


def _convert_minilm(args: argparse.Namespace) -> int:
    from bot.nlu import sentence_embeddings

    print(f"all-MiniLM-L6-v2 converted to TensorFlow in {sentence_embeddings.convert()}")
    print(f"and exported for ONNX Runtime (checked against TensorFlow) in "
          f"{sentence_embeddings.export_onnx()}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from bot.staff import checks

    problems = checks.check_all()
    if not args.skip_rasa:
        problems += checks.rasa_validate()
    errors = [p for p in problems if p.severity == "error"]
    for problem in sorted(problems, key=lambda p: (p.severity != "error", str(p))):
        print(problem)
    warnings = len(problems) - len(errors)
    print(f"\n{len(errors)} error(s), {warnings} warning(s).")
    if errors:
        print("Fix the errors above (each names the file and line), then run the check again.")
    return 1 if errors else 0


def _evaluate(args: argparse.Namespace) -> int:
    from bot.staff import evaluation
    from bot.staff.rasa_command import rasa

    rasa("train", "--quiet", "--fixed-model-name", "assistant")
    model = evaluation.PROJECT_DIR / "models" / "assistant.tar.gz"
    result = evaluation.evaluate(model, args.out, args.set)
    for name, figures in result["sets"].items():
        print(f"{name}: {figures['examples']} messages, topic accuracy {figures['accuracy']:.3f} "
              f"(plain TF-IDF + LR {figures['baseline_accuracy']:.3f}), hand-offs with the right "
              f"help {figures['handoff_right_help']:.3f}, calm sent to a hand-off "
              f"{figures['calm_to_handoff']:.3f}")
    print("\n".join(result["changes"]))
    print(f"Report: {args.out / 'evaluation.md'} (confusion matrix: {args.out / 'confusion.png'})")
    return 0


def _review(args: argparse.Namespace) -> int:
    from bot.staff import review

    items = review.not_understood(args.since, args.endpoints, args.threshold)
    if not items:
        print(f"No messages since {args.since} that the assistant did not understand.")
        return 0
    for topic, texts in review.grouped(items).items():
        print(f"\nClosest topic: {topic}")
        for text in texts:
            print(f"  - {text}")
    if args.yaml:
        args.yaml.write_text(review.nlu_snippet(items), encoding="utf-8")
        print(f"\nWritten as NLU training data to edit: {args.yaml}")
    return 0


def _generated(args: argparse.Namespace) -> int:
    import yaml
    from rasa.shared.importers.rasa import RasaFileImporter

    from bot import content
    from bot.content import PROJECT_DIR
    from bot.importer import answer_rules, rated_topics, topics_with_own_rules

    answers, contacts = content.load_answers(), content.load_contacts()
    print("# The responses bot/importer.py adds to domain.yml (one per answer, all its chat "
          "messages), and where their words are written:")
    rated = rated_topics()
    for topic, answer in sorted(answers.items()):
        where = answer.path.relative_to(PROJECT_DIR)
        count = len(content.rendered_messages(answer, answers, contacts))
        then = ', then "Was this helpful?"' if topic in rated else ""
        print(f"#   {content.response_name(topic)} ({count} message{'s' * (count != 1)}{then}): "
              f"{where}")
    print("# The rules it adds, one per answer that data/rules has no rule for:")
    written = RasaFileImporter(str(PROJECT_DIR / "config.yml"), str(PROJECT_DIR / "domain.yml"),
                               [str(PROJECT_DIR / "data")]).get_stories()
    print(yaml.safe_dump(answer_rules(answers, topics_with_own_rules(written)),
                         sort_keys=False, allow_unicode=True), end="")
    return 0


def _explain(args: argparse.Namespace) -> int:
    from bot.quiet import quiet_warnings
    from bot.staff.explain import MODEL, explain

    if not MODEL.exists():
        print(f"No trained model at {MODEL}: run `make train` first.")
        return 1
    quiet_warnings()
    print(explain(args.message))
    return 0


def _report(args: argparse.Namespace) -> int:
    from bot.quiet import quiet_warnings
    from bot.staff.report import write_report

    quiet_warnings()
    page = write_report(args.endpoints, args.out, args.since)
    print(f"Report: {page} (open it in a browser)")
    return 0


def _story(args: argparse.Namespace) -> int:
    from bot.content import PROJECT_DIR
    from bot.quiet import quiet_warnings
    from bot.staff.story import write_story

    quiet_warnings()
    path = write_story(args.sender_id, args.endpoints, training=args.training)
    print(f"Written to {path.relative_to(PROJECT_DIR)}: check and correct it, then run make check.")
    return 0


def _messenger_setup(args: argparse.Namespace) -> int:
    from bot.staff.messenger_setup import setup

    return setup(args.dry_run)


def _purge(args: argparse.Namespace) -> int:
    from rasa.core.tracker_store import create_tracker_store
    from rasa.utils.endpoints import read_endpoint_config

    from bot.storage import RedactingSQLTrackerStore

    config = read_endpoint_config(str(args.endpoints), "tracker_store")
    store = create_tracker_store(config) if config else None
    if not isinstance(store, RedactingSQLTrackerStore):
        print(f"{args.endpoints} does not keep conversations in our SQL store: nothing to purge.")
        return 1
    count = store.purge(args.days)
    print(f"Deleted {count} stored event(s) older than {args.days} days.")
    return 0


def _api_token(args: argparse.Namespace) -> int:
    from bot.serve import api_token

    print(api_token(days=args.days))
    return 0


def _new_topic(args: argparse.Namespace) -> int:
    from bot.staff import scaffold

    try:
        written = scaffold.new_topic(args.name)
    except ValueError as error:
        print(error)
        return 1
    print("Started the topic. Fill in every TODO in:")
    for path in written:
        print(f"  {path}")
    print("then run: python -m bot check")
    return 0


def _shell(args: argparse.Namespace) -> int:
    """Rasa's terminal chat, against our REST channel (`make shell` starts the server): it sends
    each answer's messages one by one, where `rasa shell`'s own channel would print the further
    messages of an answer as JSON."""
    import asyncio
    import uuid

    from rasa.core.channels.console import record_messages

    asyncio.run(record_messages(f"shell-{uuid.uuid4().hex[:12]}", server_url=args.url,
                                use_response_stream=False))
    return 0


def add_endpoints_argument(parser: argparse.ArgumentParser) -> None:
    """--endpoints: where the conversations are stored, for the commands that read them."""
    from bot.content import PROJECT_DIR

    parser.add_argument("--endpoints", type=Path, default=PROJECT_DIR / "endpoints.yml",
                        help="where the conversations are stored (default: endpoints.yml)")


def main(argv: Optional[List[str]] = None) -> int:
    import datetime as dt

    from bot.content import PROJECT_DIR

    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser("check", help="check every answer and training example",
                                description="Checks the content and training data without "
                                "training: sources, review dates, links, lengths, Messenger "
                                "limits, examples, duplicates, the app catalogue, and `rasa data "
                                "validate`. Exits 1 if there is an error.")
    check.add_argument("--skip-rasa", action="store_true", help="skip `rasa data validate`")
    check.set_defaults(run=_check)

    evaluate = commands.add_parser("evaluate", help="score the model on the held-out messages",
                                   description="Trains if the data changed, scores the held-out "
                                   "messages and writes a report compared with the last one.")
    evaluate.add_argument("--out", type=Path, default=PROJECT_DIR / "reports",
                          help="folder for the report (default: reports/)")
    evaluate.add_argument("--set", action="append", type=Path, default=[], metavar="FILE",
                          help="another labelled file to score beside ours (Rasa NLU format, or "
                          "examples/cases with text and topic); may be given more than once")
    evaluate.set_defaults(run=_evaluate)

    review = commands.add_parser("review", help="messages the assistant did not understand",
                                 description="Lists messages since a date that fell back or "
                                 "scored low, with personal details removed, grouped by the "
                                 "closest topic.")
    review.add_argument("--since", type=dt.date.fromisoformat,
                        default=dt.date.today() - dt.timedelta(days=7),
                        help="first day to include, e.g. 2026-11-01 (default: a week ago)")
    add_endpoints_argument(review)
    review.add_argument("--threshold", type=float, default=0.5,
                        help="also list messages understood with less confidence than this")
    review.add_argument("--yaml", type=Path, help="also write them as an NLU file to edit")
    review.set_defaults(run=_review)

    purge = commands.add_parser("purge", help="delete what is stored older than a number of days",
                                description="Deletes every stored event (message, answer, slot) "
                                "older than --days, in every conversation, live ones included "
                                "(run it daily, e.g. from cron).")
    purge.add_argument("--days", type=int, default=30, help="how long to keep (default: 30)")
    add_endpoints_argument(purge)
    purge.set_defaults(run=_purge)

    commands.add_parser("generated", help="the responses and rules made from data/content",
                        description="Prints the responses and rules that bot/importer.py adds to "
                        "the domain and the training data at training time, which are in no "
                        "file under data/, and the answer file each comes from.").set_defaults(
                            run=_generated)

    explain = commands.add_parser("explain", help="how the assistant reads one message",
                                  description="Shows the topic the model chose and its confidence, "
                                  "the runners-up, what the language gate and safety net did, the "
                                  "rule or action that answers, and where the words are (path:line).")
    explain.add_argument("message", help='the message, in quotes, e.g. "is snapchat ok for my 11 year old"')
    explain.set_defaults(run=_explain)

    report = commands.add_parser("report", help="what parents ask and how it is going, with charts",
                                 description="Writes DIR/index.html, one page with charts: "
                                 "conversations per week by channel, topics asked, the "
                                 "not-understood rate, hand-offs, helpful or not per answer, and "
                                 "the messages not understood, from the stored conversations.")
    report.add_argument("--out", type=Path, default=PROJECT_DIR / "reports" / "usage",
                        help="folder for the page (default: reports/usage)")
    report.add_argument("--since", type=dt.date.fromisoformat, default=None,
                        help="first day to include, e.g. 2026-11-01 (default: everything kept)")
    add_endpoints_argument(report)
    report.set_defaults(run=_report)

    story = commands.add_parser("story", help="a stored conversation as a story to correct",
                                description="Turns a stored (redacted) conversation into a "
                                "conversation test in tests/stories/from_conversations.yml, or with "
                                "--training a training story in data/stories/from_conversations.yml.")
    story.add_argument("sender_id", help='the conversation id, e.g. "rest:abc" or "h:3fa9..."')
    story.add_argument("--training", action="store_true", help="write a training story instead")
    add_endpoints_argument(story)
    story.set_defaults(run=_story)

    messenger = commands.add_parser("messenger-setup", help="set the page's Messenger greeting, "
                                    "Get Started button and menu",
                                    description="Sets the page's Messenger profile through the "
                                    "Graph API from data/content/messenger_profile.yml (needs "
                                    "FACEBOOK_PAGE_ACCESS_TOKEN). Running it again is harmless.")
    messenger.add_argument("--dry-run", action="store_true", help="print it, send nothing")
    messenger.set_defaults(run=_messenger_setup)

    token = commands.add_parser("api-token", help="a token for Rasa's HTTP API",
                                description="Prints a token for Rasa's HTTP API (/model/parse, "
                                "/conversations/...), to send as 'Authorization: Bearer TOKEN'. "
                                "Signed with RASA_JWT_SECRET, or the secret in var/api-secret.")
    token.add_argument("--days", type=float, default=1, help="how long it is valid (default: 1)")
    token.set_defaults(run=_api_token)

    shell = commands.add_parser("shell", help="chat with a running assistant in the terminal",
                                description="Type a message, see the replies; /stop ends. `make "
                                "shell` starts the assistant and this.")
    shell.add_argument("--url", default="http://localhost:5005",
                       help="the assistant's address (default: http://localhost:5005)")
    shell.set_defaults(run=_shell)

    new_topic = commands.add_parser("new-topic", help="start a new topic to fill in",
                                    description="Adds the intent to domain.yml and creates the "
                                    "training examples, the answer and a conversation test, each "
                                    "with TODO placeholders that `check` reports until filled in.")
    new_topic.add_argument("name", help="the topic id, lower case with underscores, e.g. sharenting")
    new_topic.set_defaults(run=_new_topic)

    for name, helper, run in (
        ("build-spacy", "build the English spaCy pipeline the model uses (no download)", _build_spacy),
        ("convert-minilm", "convert the packaged all-MiniLM-L6-v2 weights to TensorFlow and ONNX",
         _convert_minilm),
    ):
        commands.add_parser(name, help=helper).set_defaults(run=run)

    args = parser.parse_args(argv)
    return args.run(args)

