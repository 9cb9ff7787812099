"""A conversation's past states, worked out once per event instead of once per prediction.

Before every prediction (two or three a message), each policy asks for the states of the whole
conversation (`Domain.states_for_tracker_history`): Rasa replays every event of the session into
an empty tracker and works out a state before every action. A conversation's events only ever
get added to, so all but the newest state are the ones it worked out last time; under
`make bench-load` this was 6 % of the workers' busy time, growing with the conversation.

`states_for_tracker_history` keeps, on the conversation's tracker, where the last replay got to:
the events replayed, the replaying tracker and the states found so far (one set per way of
asking: the memoization and rule policies ask differently). When the tracker's events still start
with those events (the same objects), it replays only the new ones; anything else (a restart, a
new session, an undone turn, another model's domain) replays from the start, as Rasa does. The newest
state (after the last event) is worked out afresh every time, since the policies change it.
tests/test_speed.py checks every call against Rasa's own function on many conversations.

`apply()` puts it in place of Rasa's in the server (bot/serve.py). Training keeps Rasa's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa.shared.core import constants
from rasa.shared.core.domain import Domain, State
from rasa.shared.core.events import ActionExecuted, Event
from rasa.shared.core.trackers import DialogueStateTracker

_RASAS = Domain.states_for_tracker_history
_ATTRIBUTE = "_replays_for_states"


@dataclass
class _Replay:
    """How far a tracker's events have been replayed for one way of asking for its states."""

    domain: Domain
    tracker: DialogueStateTracker
    events: List[Event] = field(default_factory=list)
    states: List[State] = field(default_factory=list)
    last_ml_action_sub_state: Optional[Dict[Text, Any]] = None
    turn_was_hidden: bool = False


def _step(domain: Domain, replay: _Replay, states: List[State], hide_rule_turn: bool,
          omit_unset_slots: bool, ignore_rule_only_turns: bool,
          rule_only_data: Optional[Dict[Text, Any]]) -> Tuple[Optional[Dict[Text, Any]], bool]:
    """One pass of the loop in Rasa's Domain.states_for_tracker_history, for `replay.tracker`
    as it is now: appends its state to `states` (unless hidden); returns the loop's two
    variables as they are after it."""
    tr = replay.tracker
    last_ml_action_sub_state, turn_was_hidden = replay.last_ml_action_sub_state, replay.turn_was_hidden
    if ignore_rule_only_turns:
        if not turn_was_hidden:
            last_ml_action_sub_state = domain._get_prev_action_sub_state(tr)
        if not tr.followup_action and not tr.latest_action_name == tr.active_loop_name:
            turn_was_hidden = hide_rule_turn
        if turn_was_hidden:
            return last_ml_action_sub_state, turn_was_hidden
    state = domain.get_active_state(tr, omit_unset_slots=omit_unset_slots)
    if ignore_rule_only_turns:
        domain._remove_rule_only_features(state, rule_only_data)
        if states:
            domain._substitute_rule_only_user_input(state, states[-1])
        if last_ml_action_sub_state:
            state[constants.PREVIOUS_ACTION] = last_ml_action_sub_state
    states.append(domain._clean_state(state))
    return last_ml_action_sub_state, turn_was_hidden


def states_for_tracker_history(domain: Domain, tracker: DialogueStateTracker,
                               omit_unset_slots: bool = False,
                               ignore_rule_only_turns: bool = False,
                               rule_only_data: Optional[Dict[Text, Any]] = None) -> List[State]:
    """Domain.states_for_tracker_history, replaying only the events added since the last call
    (module docstring)."""
    way = (omit_unset_slots, ignore_rule_only_turns,
           json.dumps(rule_only_data, sort_keys=True, default=str))
    replays: Dict[Any, _Replay] = tracker.__dict__.setdefault(_ATTRIBUTE, {})
    applied = tracker.applied_events()
    replay = replays.get(way)
    if (replay is None or replay.domain is not domain or len(replay.events) > len(applied)
            or any(old is not new for old, new in zip(replay.events, applied))):
        replay = replays[way] = _Replay(domain, tracker.init_copy())
    for event in applied[len(replay.events):]:
        if isinstance(event, ActionExecuted):
            replay.last_ml_action_sub_state, replay.turn_was_hidden = _step(
                domain, replay, replay.states, event.hide_rule_turn, omit_unset_slots,
                ignore_rule_only_turns, rule_only_data)
        replay.tracker.update(event)
        replay.events.append(event)
    states = list(replay.states)
    _step(domain, replay, states, False, omit_unset_slots, ignore_rule_only_turns, rule_only_data)
    return states


def rasas(domain: Domain, tracker: DialogueStateTracker, **kwargs: Any) -> List[State]:
    """Rasa's own function (what ours must always agree with)."""
    return _RASAS(domain, tracker, **kwargs)


def apply() -> None:
    """Make every Domain in this process work out past states with ours."""
    Domain.states_for_tracker_history = states_for_tracker_history  # type: ignore[method-assign]
