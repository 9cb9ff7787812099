"""Rasa's check of each reply from the action server, with its validator built once.

Rasa checks every reply against the reply format's JSON schema
(`RemoteAction._validate_action_result`) with `jsonschema.validate`, which first checks the
schema itself and builds a new validator, on every call. Under `make bench-load` that was 6.6 % of
the server's samples. This is the same check (`jsonschema.validate` does exactly these steps) with
the schema checked and the validator built once per process. Our channels apply it as the server
starts (bot/channels/server.py), next to the action-server timeout.
"""

from __future__ import annotations

import functools
from typing import Any, Dict, Text

from jsonschema import exceptions, validators
from rasa.shared.constants import DOCS_BASE_URL


@functools.lru_cache(maxsize=1)
def reply_validator() -> Any:
    """A validator for Rasa's action-server reply format, its schema checked once."""
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    kind = validators.validator_for(schema)
    kind.check_schema(schema)
    return kind(schema)


def validate_action_result(self: Any, result: Dict[Text, Any]) -> bool:
    """RemoteAction._validate_action_result, with the validator above: True, or Rasa's error."""
    error = exceptions.best_match(reply_validator().iter_errors(result))
    if error is None:
        return True
    error.message += (
        f". Failed to validate Action server response from API, make sure your response from the "
        f"Action endpoint is valid. For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions")
    raise error


def apply() -> None:
    """Give Rasa's RemoteAction the check above."""
    from rasa.core.actions.action import RemoteAction

    RemoteAction._validate_action_result = validate_action_result
