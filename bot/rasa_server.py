"""`rasa run` as this project starts it (scripts/start.py): Rasa's own command line, after one
change to how its server checks the action server's answers.

Rasa 3.6 checks each custom action's answer with `jsonschema.validate`, which first validates the
(constant) schema against JSON Schema's meta-schema and then builds a new validator: 32 ms per
action call on the 2-core machine, against 0.8 ms with a validator built once. Profiled with
py-spy under the benchmark's conversations, that check was a quarter of the Rasa server's CPU
(benchmarks/results/profile.md). Here the validator is built once, for the same schema; an answer
that fails it goes to Rasa's own check, which raises Rasa's own error.

Usage: python -m bot.rasa_server run [rasa run's options]   (the same as `rasa ...`)
"""

from __future__ import annotations

from functools import cache
from typing import Any

import jsonschema
from rasa.core.actions.action import RemoteAction

_rasa_validate = RemoteAction._validate_action_result


@cache
def _validator() -> Any:
    schema = RemoteAction.action_response_format_spec()
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def validate_action_result(action: RemoteAction, result: dict[str, Any]) -> bool:
    """RemoteAction._validate_action_result, with the validator built once."""
    if _validator().is_valid(result):
        return True
    return bool(_rasa_validate(action, result))  # raises Rasa's ValidationError


def apply() -> None:
    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]


def main() -> None:
    apply()
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
