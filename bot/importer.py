"""A Rasa training-data importer that adds the curated answers in data/content to the domain.

Configured in config.yml (`importers:`), so `rasa train`, `rasa data validate`, `rasa test` and
`rasa shell` all see the same responses. For every answer it adds:
- the responses `utter_<topic>`, `utter_<topic>_2`, ... (one per chat message), and
- the rule "when a parent asks about <topic>, send those messages" (then "Was this helpful?" for
  advice and app topics), unless data/rules already has a rule of its own for that topic
  (hand-offs do: they add a custom action after the messages).

Hand-written rules and stories name an answer by its first response only (`utter_<topic>`): the
importer adds the rest (`utter_<topic>_2`, ...), so they never depend on how many messages an
answer has, and a comms officer can split or join an answer's messages without touching them.
`python -m bot generated` prints what it adds.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Set, Text, Union

from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
from rasa.shared.core.training_data.structures import RuleStep, StoryGraph
from rasa.shared.importers.rasa import RasaFileImporter
from rasa.shared.utils.common import cached_method

from bot import content
from bot.topics import load_topics

# Answers followed by "Was this helpful?": advice and app topics, not small talk or hand-offs.
RATED_KINDS = ("advice", "app")
ASK_HELPFUL = content.ASK_HELPFUL


def rated_topics() -> Set[str]:
    return {t.id for t in load_topics().values() if t.kind in RATED_KINDS}


def answer_rules(
    answers: Dict[str, content.Answer], contacts: Dict[str, str], skip: Set[str],
    rated: Set[str] = frozenset(),
) -> Dict[str, list]:
    """Rules, as Rasa's YAML structure, that send each answer when its topic is asked about,
    then, for the `rated` topics, ask whether it helped."""
    rules = []
    for topic, answer in sorted(answers.items()):
        if topic in skip:
            continue
        steps: List[Dict[str, str]] = [{"intent": topic}]
        steps += [{"action": name} for name in answer.response_names(contacts)]
        if topic in rated:
            steps.append({"action": ASK_HELPFUL})
        rules.append({"rule": f"answer {topic}", "steps": steps})
    return {"version": "3.1", "rules": rules}


def topics_with_own_rules(graph: StoryGraph) -> Set[str]:
    """Intents that a hand-written rule without conditions starts with. (A rule with conditions,
    such as "yes" while a question is open, is for that situation only.)"""
    topics: Set[str] = set()
    for step in graph.story_steps:
        if not isinstance(step, RuleStep) or step.condition_events_indices:
            continue
        first_user = next((e for e in step.events if isinstance(e, UserUttered)), None)
        if first_user is not None and first_user.intent_name:
            topics.add(first_user.intent_name)
    return topics


def with_whole_answers(graph: StoryGraph, answers: Dict[str, content.Answer],
                       contacts: Dict[str, str]) -> StoryGraph:
    """The graph with every `utter_<topic>` step followed by the rest of that answer's messages."""
    rest = {names[0]: names[1:] for names in
            (answer.response_names(contacts) for answer in answers.values()) if len(names) > 1}
    for step in graph.story_steps:
        conditions = getattr(step, "condition_events_indices", set()) or set()
        first = max(conditions, default=-1) + 1  # a rule's conditions stay as they are
        events = list(step.events[:first])
        for index, event in enumerate(step.events[first:], start=first):
            events.append(event)
            following = step.events[index + 1] if index + 1 < len(step.events) else None
            name = getattr(event, "action_name", None)
            if isinstance(event, ActionExecuted) and name in rest and not (
                    isinstance(following, ActionExecuted) and following.action_name == rest[name][0]):
                events += [ActionExecuted(more) for more in rest[name]]
        step.events = events
    return graph


class ContentImporter(RasaFileImporter):
    """RasaFileImporter plus the responses and answer rules made from data/content."""

    def __init__(
        self,
        config_file: Optional[Text] = None,
        domain_path: Optional[Text] = None,
        training_data_paths: Optional[Union[List[Text], Text]] = None,
    ) -> None:
        super().__init__(config_file, domain_path, training_data_paths)
        self._answers_dir = content.CONTENT_DIR / "answers"
        self._contacts_file = content.CONTENT_DIR / "contacts.yml"
        self._system_file = content.CONTENT_DIR / "system.yml"

    @cached_method
    def _content(self) -> tuple:
        return content.load_answers(self._answers_dir), content.load_contacts(self._contacts_file)

    @cached_method
    def get_domain(self) -> Domain:
        """The domain from domain.yml, with a response for every curated message."""
        domain = super().get_domain()
        answers, contacts = self._content()
        system_messages = content.load_system_messages(self._system_file)
        responses = content.domain_responses(answers, contacts, system_messages)
        clashes = sorted(set(responses) & set(domain.responses))
        if clashes:
            raise content.ContentError(
                f"{self._domain_path}: {', '.join(clashes)} also come from data/content/answers. "
                "Write the answer in one place only."
            )
        return domain.merge(Domain.from_dict({"responses": responses}))

    @cached_method
    def get_stories(self, exclusion_percentage: Optional[int] = None) -> StoryGraph:
        """The stories and rules in data/ (each answer sent whole), plus a rule for each answer
        without one."""
        answers, contacts = self._content()
        graph = with_whole_answers(super().get_stories(exclusion_percentage), answers, contacts)
        generated = answer_rules(answers, contacts, skip=topics_with_own_rules(graph),
                                 rated=rated_topics())
        reader = YAMLStoryReader(self.get_domain(), source_name="data/content/answers")
        return graph.merge(StoryGraph(reader.read_from_parsed_yaml(generated)))
