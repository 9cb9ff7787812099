"""Rasa's RulePolicy, finding the rules that apply to a conversation with less work.

For every prediction (two or three a message), RulePolicy looks for the rules whose states match
the end of the conversation: it checks every rule (111 here) against the newest state, then the
survivors against the state before, and so on back to the start of the conversation, even once
no rule is left or the rules left are shorter than the distance already gone back.

`possible_keys` gives the same answer (tests/test_speed.py compares them on every state of many
conversations) with two changes:
- which rules match a conversation's newest state depends on that state alone, and a running
  assistant sees few different ones: the answer is remembered per state (at most
  `MATCHES_REMEMBERED` per policy);
- going back stops when no rule is left, or when every rule left is shorter than the distance
  gone back (such a rule applies: Rasa's `_is_rule_applicable` says so for every earlier state).
Held-out messages in conversations of twenty, one process: 0.4 to 0.9 ms less CPU a turn (of 18).

`apply()` puts it in place of RulePolicy's own search in the server (bot/serve.py), as
bot/graph_runner.py does for the graph runner. Training keeps Rasa's search (its
rules change while it checks them), and the trained model is Rasa's RulePolicy: a subclass named
in config.yml would lose checks Rasa's validation runs only on RulePolicy itself.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any, Dict, List, Set, Text, Tuple

from rasa.core.policies.rule_policy import RulePolicy

State = Dict[Text, Any]
MATCHES_REMEMBERED = 4096
_RASAS_SEARCH = RulePolicy._get_possible_keys


def _matching_newest(policy: RulePolicy, lookup: Dict[Text, Text], state: State) -> Set[Text]:
    """The rules in `lookup` (one of the trained policy's own lookups, which never change once
    it is loaded, so their identity names them) that match the conversation's newest state."""
    remembered: OrderedDict[Tuple[int, str], Set[Text]] = policy.__dict__.setdefault(
        "_matches_remembered", OrderedDict())
    key = (id(lookup), json.dumps(state, sort_keys=True))
    found = remembered.get(key)
    if found is None:
        found = {rule for rule in lookup if policy._is_rule_applicable(rule, 0, state)}
        remembered[key] = found
        while len(remembered) > MATCHES_REMEMBERED:
            remembered.popitem(last=False)
    return found


def possible_keys(policy: RulePolicy, lookup: Dict[Text, Text], states: List[State]) -> Set[Text]:
    """RulePolicy._get_possible_keys: the rules in `lookup` that apply to `states`."""
    if not states:
        return set(lookup.keys())
    possible = set(_matching_newest(policy, lookup, states[-1]))
    for back, state in enumerate(reversed(states[:-1]), start=1):
        if not possible or all(len(policy._rule_key_to_state(key)) <= back for key in possible):
            break
        possible = {key for key in possible if policy._is_rule_applicable(key, back, state)}
    return possible


def rasas_possible_keys(policy: RulePolicy, lookup: Dict[Text, Text],
                        states: List[State]) -> Set[Text]:
    """Rasa's own search (what `possible_keys` must always agree with)."""
    return _RASAS_SEARCH(policy, lookup, states)


def apply() -> None:
    """Make every RulePolicy in this process search with `possible_keys`."""
    RulePolicy._get_possible_keys = possible_keys  # type: ignore[method-assign]
