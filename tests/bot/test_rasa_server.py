"""bot/rasa_server.py: the Rasa server the project starts checks the action server's answers with
a validator built once, and still refuses what Rasa refuses, with Rasa's error; it loads the
model's neural parts without Rasa's training step, to the same weights and the same answers. Runs
in Rasa's environment (a subprocess), as the server does; the started server's command is checked
too."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests.stack import RASA_PYTHON, REPO, in_rasa_env, trained_model

CHECK = textwrap.dedent("""
    import json, sys
    import jsonschema
    from rasa.core.actions.action import RemoteAction
    from bot import rasa_server

    rasa_server.apply()
    action = RemoteAction("action_anything", None)
    good = {"events": [{"event": "slot", "name": "x", "value": 1}],
            "responses": [{"text": "hello", "buttons": []}]}
    outcome = {"patched": RemoteAction._validate_action_result is
                          rasa_server.validate_action_result,
               "good": action._validate_action_result(good)}
    for name, bad in (("events_not_a_list", {"events": "nope"}),
                      ("event_without_kind", {"events": [{"name": "x"}]}),
                      ("responses_not_objects", {"responses": ["text"]})):
        try:
            action._validate_action_result(bad)
            outcome[name] = "accepted"
        except jsonschema.ValidationError as error:
            outcome[name] = error.message
    # Each event checked against its own kind accepts what the whole schema's "one of" accepts.
    whole = jsonschema.Draft202012Validator(RemoteAction.action_response_format_spec())
    answers = json.loads(sys.argv[1])
    outcome["agreement"] = {name: [rasa_server.accepts(answer), whole.is_valid(answer)]
                            for name, answer in answers.items()}
    # Event classes: the table gives what Rasa's own lookup gives, for every kind of event.
    from rasa.shared.core.events import Event
    from rasa.shared.utils.common import all_subclasses
    names = sorted({cls.type_name for cls in all_subclasses(Event)})
    outcome["event_classes"] = [  # twice: found, then from the table
        [Event.resolve_by_type(name).__name__ for name in names + names],
        [rasa_server._rasa_resolve_event_type(name).__name__ for name in names + names]]
    outcome["unknown_event"] = [Event.resolve_by_type("nonsense", Event) is Event,
                                Event.resolve_by_type("topic") is None]
    try:
        Event.resolve_by_type("nonsense")
    except ValueError as error:
        outcome["unknown_event"].append(str(error))
    print(json.dumps(outcome))
""")

# Answers of the action server, some that Rasa's schema accepts and some it refuses, each event
# kind among them.
ANSWERS = {
    "many_kinds": {"events": [
        {"event": "slot", "name": "x", "value": None, "timestamp": None},
        {"event": "active_loop", "name": "search_form"},
        {"event": "followup", "name": "action_search"},
        {"event": "bot", "text": "hello", "data": {"buttons": [{"title": "a", "payload": "/b"}]},
         "metadata": {"utter_action": "utter_hello"}},
        {"event": "reminder", "intent": "EXTERNAL_reminder", "entities": [],
         "date_time": "2026-12-05T10:00:00", "name": "remind", "kill_on_user_msg": True},
        {"event": "user", "text": "hi", "parse_data": {
            "intent": {"name": "greet", "confidence": 1.0},
            "entities": [{"entity": "issue", "value": "anxiety", "start": 0, "end": 7}]}},
        {"event": "action", "name": "action_listen", "policy": None, "confidence": 1.0},
        {"event": "session_started"}, {"event": "restart"}, {"event": "reset_slots"}],
        "responses": [{"text": "hello", "buttons": []}]},
    "no_events": {"responses": []},
    "unknown_kind": {"events": [{"event": "nonsense"}]},
    "slot_without_value": {"events": [{"event": "slot", "name": "x"}]},
    "slot_name_a_number": {"events": [{"event": "slot", "name": 5, "value": 1}]},
    "timestamp_a_word": {"events": [{"event": "bot", "timestamp": "now"}]},
    "entity_without_name": {"events": [{"event": "user", "parse_data": {
        "entities": [{"value": "anxiety"}]}}]},
    "kind_a_number": {"events": [{"event": 3}]},
    "answer_a_list": [],
}


@pytest.fixture(scope="module")
def outcome() -> dict[str, object]:
    return in_rasa_env(CHECK, json.dumps(ANSWERS))


def test_the_validator_is_replaced_and_takes_a_good_answer(outcome) -> None:
    assert outcome["patched"] is True
    assert outcome["good"] is True


@pytest.mark.parametrize("case", ["events_not_a_list", "event_without_kind",
                                  "responses_not_objects"])
def test_a_bad_answer_gets_rasas_own_error(outcome, case: str) -> None:
    message = outcome[case]
    assert message != "accepted"
    assert "Failed to validate Action server response" in str(message)


def test_each_event_checked_against_its_own_kind_agrees_with_the_whole_schema(outcome) -> None:
    agreement = outcome["agreement"]
    assert {name: quick for name, (quick, _) in agreement.items()} == {
        name: whole for name, (_, whole) in agreement.items()}
    accepted = sorted(name for name, (quick, _) in agreement.items() if quick)
    assert accepted == ["many_kinds", "no_events"]


def test_event_classes_come_from_the_table_as_from_rasas_lookup(outcome) -> None:
    table, rasa = outcome["event_classes"]
    assert table == rasa and "SlotSet" in table and "UserUttered" in table
    default_for_unknown, topic_is_none, error = outcome["unknown_event"]
    assert default_for_unknown and topic_is_none
    assert "Unknown event name 'nonsense'" in error


def test_the_rasa_server_is_started_through_it(monkeypatch) -> None:
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import start
    finally:
        sys.path.remove(str(REPO / "scripts"))
    monkeypatch.setenv("ACTION_SERVER_TOKEN", "x" * 32)
    command = start.rasa_command()
    assert command[2:4] == ["bot.rasa_server", "run"], command


def test_make_train_packs_the_model_at_gzip_level_6() -> None:
    """The gzip header's extra flags (RFC 1952): 2 for level 9, 4 for level 1, 0 between."""
    assert "bot.rasa_server train" in (REPO / "scripts" / "train.sh").read_text()
    with trained_model().open("rb") as archive:
        header = archive.read(10)
    assert header[:2] == b"\x1f\x8b" and header[8] == 0, header


# Trains a tiny DIET, recording each trace of its training step and whether the tf.data pipeline
# Keras feeds it from is autotuned (None: TensorFlow's default, autotuned).
TRAIN_RECORDING = textwrap.dedent("""
    import json, sys
    from keras.engine import data_adapter
    from rasa.utils.tensorflow.models import RasaModel
    from bot import rasa_server

    traces, autotune = [], []
    train_step = RasaModel.train_step

    def counted(model, batch):  # Python runs it only while TensorFlow traces it
        traces.append(type(model).__name__)
        return train_step(model, batch)

    RasaModel.train_step = counted
    if sys.argv[1] == "quick":
        rasa_server.apply()
    get_dataset = data_adapter.KerasSequenceAdapter.get_dataset

    def recorded(adapter):
        dataset = get_dataset(adapter)
        autotune.append(dataset.options().autotune.enabled)
        return dataset

    data_adapter.KerasSequenceAdapter.get_dataset = recorded
    from rasa.model_training import train_nlu
    train_nlu(sys.argv[2], sys.argv[3], sys.argv[4])
    print(json.dumps({"traces": traces, "autotune": autotune}))
""")

TINY_NLU = """version: "3.1"
nlu:
- intent: greet
  examples: |
    - hi
    - hello there
    - good morning
- intent: book
  examples: |
    - book a session
    - i want to see a therapist
    - find me someone for [anxiety](issue)
"""


@pytest.fixture(scope="module")
def tiny_training(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("tiny")
    (folder / "config.yml").write_text(
        "recipe: default.v1\nlanguage: en\npipeline:\n  - name: WhitespaceTokenizer\n"
        "  - name: CountVectorsFeaturizer\n  - name: DIETClassifier\n    epochs: 3\n"
        "policies: []\n")
    (folder / "nlu.yml").write_text(TINY_NLU)
    done = subprocess.run(
        [str(RASA_PYTHON), "-c", TRAIN_RECORDING, "quick", str(folder / "config.yml"),
         str(folder / "nlu.yml"), str(folder / "models")], cwd=folder, capture_output=True,
        text=True, timeout=300, env={**os.environ, "RASA_TELEMETRY_ENABLED": "false",
                                     "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.timeout(600)
def test_training_traces_the_training_step_once(tiny_training) -> None:
    # Rasa's own fit traces it twice (["DIET", "DIET"]: the script's other way, "rasa").
    assert tiny_training["traces"] == ["DIET"]


@pytest.mark.timeout(600)
def test_the_batches_reach_keras_without_tf_data_autotuning(tiny_training) -> None:
    # One fit, one pipeline; Rasa's own way gives [None] (TensorFlow's default: autotuned).
    assert tiny_training["autotune"] == [False]


LOAD_BOTH_WAYS = textwrap.dedent("""
    import asyncio, json, sys, time
    import numpy as np
    from rasa.core.agent import load_agent
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.utils.tensorflow.models import RasaModel
    from bot import rasa_server

    model, texts = sys.argv[1], json.loads(sys.argv[2])
    loaded = []
    load = RasaModel.load.__func__

    def recording(load):
        def wrapper(cls, *args, **kwargs):
            built = load(cls, *args, **kwargs)
            loaded.append(built)
            return built
        return classmethod(wrapper)

    async def answers(agent):
        parsed, next_actions = [], []
        for text in texts:
            parse = await agent.parse_message(text)
            parsed.append([parse["intent"]["name"], round(parse["intent"]["confidence"], 5),
                           sorted((e["entity"], str(e.get("value"))) for e in parse["entities"]),
                           {key: round(value["response"]["confidence"], 5)
                            for key, value in (parse.get("response_selector") or {}).items()
                            if key != "all_retrieval_intents"}])
            tracker = DialogueStateTracker.from_events("x", [
                ActionExecuted("action_listen"), UserUttered(text, parse["intent"],
                                                             parse["entities"], parse)],
                slots=agent.domain.slots)
            prediction = agent.processor._predict_next_with_tracker(tracker)
            next_actions.append([prediction.policy_name,
                                 [round(p, 5) for p in prediction.probabilities]])
        return parsed, next_actions

    fallbacks = []
    rasa_load = rasa_server._rasa_load

    def counted(*args, **kwargs):
        fallbacks.append(1)
        return rasa_load(*args, **kwargs)

    rasa_server._rasa_load = counted
    outcome = {}
    for way in ("rasa", "quick"):
        loaded.clear()
        if way == "quick":
            rasa_server.apply()
            RasaModel.load = recording(RasaModel.load.__func__)
        else:
            RasaModel.load = recording(load)
        started = time.perf_counter()
        agent = asyncio.run(load_agent(model_path=model))
        seconds = time.perf_counter() - started
        weights = {type(m).__name__ + "/" + v.name: v.numpy() for m in loaded
                   for v in m.variables}
        outcome[way] = {"seconds": seconds, "answers": asyncio.run(answers(agent)),
                        "models": sorted(type(m).__name__ for m in loaded),
                        "weights": weights}
    rasa, quick = outcome["rasa"]["weights"], outcome["quick"]["weights"]
    print(json.dumps({
        way: {"seconds": outcome[way]["seconds"], "answers": outcome[way]["answers"],
              "models": outcome[way]["models"]} for way in outcome} | {
        "quick_weights": len(quick), "fallbacks": len(fallbacks),
        "missing": sorted(set(quick) - set(rasa)),
        "different": sorted(name for name in set(quick) & set(rasa)
                            if not np.array_equal(quick[name], rasa[name])),
        "rasa_only": sorted(set(rasa) - set(quick))}))
""")


@pytest.fixture(scope="module")
def loaded_both_ways() -> dict:
    texts = ["hi", "find me a therapist for anxiety on video", "how much does it cost",
             "I want to cancel my session on tuesday", "my invite code is ABCDE-FGHJK",
             "i've been feeling really low lately", "thanks, bye", "who pays for this",
             "book the first one", "what are my sessions left"]
    done = subprocess.run([str(RASA_PYTHON), "-c", LOAD_BOTH_WAYS, str(trained_model()),
                           json.dumps(texts)], cwd=REPO, capture_output=True, text=True,
                          timeout=600, env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"})
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


# Loading the model Rasa's way takes a minute on a quiet machine and several beside other tests
# (the fixture's time counts towards the first test that asks for it).
@pytest.mark.timeout(900)
def test_the_quick_load_gives_every_weight_its_saved_value(loaded_both_ways) -> None:
    assert loaded_both_ways["quick"]["models"] == loaded_both_ways["rasa"]["models"]
    assert len(loaded_both_ways["quick"]["models"]) == 2  # DIET, the response selector
    assert loaded_both_ways["fallbacks"] == 0  # the quick way, not Rasa's load after all
    assert loaded_both_ways["quick_weights"] > 50  # 59 in DIET (one transformer layer) and the RS
    assert loaded_both_ways["missing"] == []
    assert loaded_both_ways["different"] == []
    assert loaded_both_ways["rasa_only"] == []


@pytest.mark.timeout(900)
def test_the_quick_load_gives_the_same_answers(loaded_both_ways) -> None:
    assert loaded_both_ways["quick"]["answers"] == loaded_both_ways["rasa"]["answers"]
