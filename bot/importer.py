"""A Rasa training-data importer that adds the curated answers in data/content to the domain.

Configured in config.yml (`importers:`), so `rasa train`, `rasa data validate`, `rasa test` and
`rasa shell` all see the same responses. For every answer it adds:
- the response `utter_<topic>`: all the answer's chat messages in one response, then "Was this
  helpful?" for advice and app topics (the first message, with the others under `custom`, which
  our channels send one by one: bot/content.py, `as_response`), so that sending an answer is one
  action, one policy prediction, however many messages it has;
- the rule "when a parent asks about <topic>, send it", unless data/rules already has a rule of
  its own for that topic (hand-offs do: they add a custom action after the answer).

Rules and stories name an answer by `utter_<topic>` alone, so a comms officer can split or join
an answer's messages without touching them. `python -m bot generated` prints what it adds.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Set, Text, Union

from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
from rasa.shared.core.training_data.structures import RuleStep, StoryGraph
from rasa.shared.importers.rasa import RasaFileImporter
from rasa.shared.utils.common import cached_method

from bot import content
from bot.topics import load_topics

# Answers followed by "Was this helpful?": advice and app topics, not small talk or hand-offs.
RATED_KINDS = ("advice", "app")


def rated_topics() -> Set[str]:
    return {t.id for t in load_topics().values() if t.kind in RATED_KINDS}


def answer_rules(answers: Dict[str, content.Answer], skip: Set[str]) -> Dict[str, list]:
    """Rules, as Rasa's YAML structure, that send each answer when its topic is asked about."""
    rules = []
    for topic in sorted(answers):
        if topic in skip:
            continue
        steps: List[Dict[str, str]] = [{"intent": topic}, {"action": content.response_name(topic)}]
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
        responses = content.domain_responses(answers, contacts, system_messages, rated_topics())
        clashes = sorted(set(responses) & set(domain.responses))
        if clashes:
            raise content.ContentError(
                f"{self._domain_path}: {', '.join(clashes)} also come from data/content/answers. "
                "Write the answer in one place only."
            )
        return domain.merge(Domain.from_dict({"responses": responses}))

    @cached_method
    def get_stories(self, exclusion_percentage: Optional[int] = None) -> StoryGraph:
        """The stories and rules in data/, plus a rule for each answer without one."""
        answers, _ = self._content()
        graph = super().get_stories(exclusion_percentage)
        generated = answer_rules(answers, skip=topics_with_own_rules(graph))
        reader = YAMLStoryReader(self.get_domain(), source_name="data/content/answers")
        return graph.merge(StoryGraph(reader.read_from_parsed_yaml(generated)))
