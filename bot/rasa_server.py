"""`rasa run` and `rasa train` as this project runs them (scripts/start.py, scripts/train.sh):
Rasa's own command line, after six changes, each measured, with the same answers.

1. How the server checks the action server's answers. Rasa 3.6 checks each custom action's
answer with `jsonschema.validate`, which first validates the (constant) schema against JSON
Schema's meta-schema and then builds a new validator: 32 ms per action call on the 2-core
machine, against 0.8 ms with a validator built once. Profiled with py-spy under the benchmark's
conversations, that check was a quarter of the Rasa server's CPU
(benchmarks/results/profile.md). Here the validators are built once, for the same schema. The
schema says each event is "one of" 23 kinds, each fixed by its `event` name, so jsonschema tried
all 23 on every event (still 7% of the server's time in a turn, 10.9 ms for an answer of ten
events); here each event is checked against its own kind only (1.6 ms for that answer), which
accepts and refuses exactly what the "one of" does. An answer that fails goes to Rasa's own
check, which raises Rasa's own error.

2. How the model's neural parts (DIET, the response selector; TED if configured) are loaded.
Rasa 3.6 creates their weights by training one step on an example, which traces the whole
training graph, then overwrites them with the saved ones: 30 of a server's 40 seconds of
start-up on this machine.
Here the saved weights are read first and each takes its value as the prediction Rasa runs
anyway creates it (TensorFlow's deferred restoration). Every weight the model has is checked to
have come from the file; if one did not, or when loading for fine-tuning, Rasa's own load runs.
Same predictions (tests/bot/test_rasa_server.py); start-up and the e2e stacks' setup are faster.

3. How `rasa train` packs the model: gzip at its usual level (6) instead of tarfile's 9. The
archive is 141 MB of weights that barely compress: level 9 took 13.9 s for 78.2 MB, level 6 3.7 s
for 78.3 MB (the same model, one core). Unpacking takes the same 0.6 s.

4. How `rasa train` starts fitting DIET and the response selector. TensorFlow traces a
tf.function twice when its first call creates variables (once to create them, once without),
and Keras' training step creates the model's and the optimiser's on the first batch: about 10 s
of DIET's first epoch. Here one pass on the first batch, outside the function and not training,
creates them first, so the step is traced once (checked: the same losses and accuracies at every
epoch; DIET's 40 epochs took 110 s against 120 s).

5. How Keras feeds those batches: without tf.data's autotuning. Keras wraps Rasa's batch
generator in a tf.data pipeline whose iterator runs an autotuning thread (TensorFlow 2.12), which
sleeps between re-tunings for intervals that grow to a minute; destroying the iterator waits for
that thread. With nothing to tune (one generator, a fixed prefetch of one batch), the wait is
pure loss: in about a third of the trainings DIET's component sat 46 to 61 s after its last
epoch, its main thread waiting there (py-spy's native stack: RootDataset::Iterator::~Iterator
on an UnboundedThreadPool::LogicalThreadWrapper). Here the pipeline is built with autotuning
off: none of the 5 trainings since waited (2 to 5 s after the last epoch).

6. How the server reads events back. Rasa 3.6 finds the class of each stored event by walking
every subclass of `Event` (asking `inspect` whether each is abstract) for every event of every
conversation it reads: 6.6% of the server's time in a turn. Here a table of the classes, filled
as Rasa's own lookup finds them, answers instead.

Usage: python -m bot.rasa_server run [rasa run's options]   (the same as `rasa ...`; make train
and make test train and test through it too)
"""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

import jsonschema
import tensorflow as tf
from keras.engine import data_adapter
from rasa.core.actions.action import RemoteAction
from rasa.engine.storage import local_model_storage
from rasa.shared.core.events import Event
from rasa.utils.tensorflow.constants import LEARNING_RATE, RUN_EAGERLY
from rasa.utils.tensorflow.data_generator import RasaBatchDataGenerator
from rasa.utils.tensorflow.models import RasaModel

_rasa_validate = RemoteAction._validate_action_result
_rasa_resolve_event_type = Event.resolve_by_type
_rasa_load = RasaModel.load.__func__  # type: ignore[attr-defined]
_keras_fit = RasaModel.fit
_keras_sequence_adapter_init = data_adapter.KerasSequenceAdapter.__init__
log = logging.getLogger(__name__)


def _validator(schema: dict[str, Any]) -> Any:
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


@cache
def _validators() -> tuple[Any, dict[str, Any]]:
    """The answer's validator without the events' "one of", and one validator per kind of event
    (by its `event` name): the common part of an event and its own kind's branch (see 1.)."""
    schema = RemoteAction.action_response_format_spec()
    events = schema["properties"]["events"]
    common = {key: value for key, value in events["items"].items() if key != "oneOf"}
    kinds = {branch["properties"]["event"]["const"]: _validator({"allOf": [common, branch]})
             for branch in events["items"]["oneOf"]}
    without_kinds = {**events, "items": common}
    outer = {**schema, "properties": {**schema["properties"], "events": without_kinds}}
    return _validator(outer), kinds


def accepts(result: Any) -> bool:
    """Whether Rasa's schema accepts an answer of the action server (each event checked against
    its own kind)."""
    outer, kinds = _validators()
    return bool(outer.is_valid(result) and all(
        event["event"] in kinds and kinds[event["event"]].is_valid(event)
        for event in result.get("events", ())))


def validate_action_result(action: RemoteAction, result: dict[str, Any]) -> bool:
    """RemoteAction._validate_action_result, with the validators built once."""
    if accepts(result):
        return True
    return bool(_rasa_validate(action, result))  # raises Rasa's ValidationError


_EVENT_CLASSES: dict[str, type[Event]] = {}


def resolve_event_type(type_name: str, default: type[Event] | None = None) -> type[Event] | None:
    """Event.resolve_by_type, remembering each class Rasa's own lookup finds (see 6.)."""
    known = _EVENT_CLASSES.get(type_name)
    if known is not None:
        return known
    found = _rasa_resolve_event_type(type_name, default)
    if found is not None and found.type_name == type_name:
        _EVENT_CLASSES[type_name] = found
    return found


def load_for_inference(cls: type[RasaModel], model_file_name: str, model_data_example: Any,
                       predict_data_example: Any = None, finetune_mode: bool = False,
                       *args: Any, **kwargs: Any) -> RasaModel:
    """RasaModel.load, without the training step that only creates the weights."""
    quick = (None if finetune_mode or predict_data_example is None
             else _load_saved_weights(cls, model_file_name, predict_data_example, *args, **kwargs))
    if quick is not None:
        return quick
    return _rasa_load(cls, model_file_name, model_data_example, predict_data_example,
                      finetune_mode, *args, **kwargs)


def _load_saved_weights(cls: type[RasaModel], model_file_name: str, predict_data_example: Any,
                        *args: Any, **kwargs: Any) -> RasaModel | None:
    """The model with every weight from the file, or None when one was left unset."""
    model = cls(*args, **kwargs)
    config = kwargs.get("config", {})
    model.compile(optimizer=tf.keras.optimizers.Adam(config.get(LEARNING_RATE, 0.001)),
                  run_eagerly=config.get(RUN_EAGERLY))
    restored = model.load_weights(model_file_name)
    model.run_inference(predict_data_example)  # creates the weights, each from the file
    try:
        restored.assert_existing_objects_matched()
    except AssertionError as error:
        log.warning("Loading %s the quick way left a weight unset (%s); loading it as Rasa "
                    "does.", cls.__name__, error)
        return None
    restored.expect_partial()  # the optimiser's state is only for training
    return model


def fit_traced_once(model: RasaModel, x: Any = None, *args: Any, **kwargs: Any) -> Any:
    """Keras' fit, once the model's and the optimiser's variables exist (see 4. above)."""
    if isinstance(x, RasaBatchDataGenerator) and len(x):
        batch, _ = x[0]
        model._training = False  # no dropout: the pass only creates the variables
        model.batch_loss(tuple(tf.convert_to_tensor(part) for part in batch))
        model.optimizer.build(model.trainable_variables)
    return _keras_fit(model, x, *args, **kwargs)


def sequence_adapter_without_autotune(adapter: Any, *args: Any, **kwargs: Any) -> None:
    """Keras' adapter of a batch generator, its tf.data pipeline not autotuned (see 5. above)."""
    _keras_sequence_adapter_init(adapter, *args, **kwargs)
    options = tf.data.Options()
    options.autotune.enabled = False
    adapter._dataset = adapter._dataset.with_options(options)


MODEL_GZIP_LEVEL = 6


class ModelArchive(local_model_storage.TarSafe):  # type: ignore[misc]
    """The tar file Rasa packs and unpacks models with, writing at MODEL_GZIP_LEVEL."""

    @classmethod
    def open(cls, name: Any = None, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if mode == "w:gz":
            kwargs.setdefault("compresslevel", MODEL_GZIP_LEVEL)
        return super().open(name, mode, *args, **kwargs)


def apply() -> None:
    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]
    RasaModel.load = classmethod(load_for_inference)  # type: ignore[method-assign,assignment]
    local_model_storage.TarSafe = ModelArchive  # type: ignore[misc]
    RasaModel.fit = fit_traced_once  # type: ignore[method-assign]
    data_adapter.KerasSequenceAdapter.__init__ = sequence_adapter_without_autotune
    Event.resolve_by_type = staticmethod(resolve_event_type)  # type: ignore[method-assign]


def main() -> None:
    apply()
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
