"""Run a module like `python -m MODULE ARGS...`, hiding third-party deprecation warnings.

    .venv-rasa/bin/python scripts/without-deprecations.py rasa run --model models ...
    .venv/bin/python scripts/without-deprecations.py bot.action_server

Rasa's dependencies (TensorFlow, Keras, sanic, SQLAlchemy 1.4, pkg_resources, matplotlib ...)
warn about their own deprecated internals on every start; nobody here can act on that. Warning
filters cannot hide them: importing sanic puts `filterwarnings("once", DeprecationWarning)` and
Rasa's start-up puts `filterwarnings("once", UserWarning)` in front of every earlier filter
(PYTHONWARNINGS included). So this replaces `warnings.showwarning`, which only sees the warnings
that passed the filters, and drops a DeprecationWarning there unless it points at a file of this
repository outside its environments: deprecations that bot/, channels/ or contracts/ trigger
stay visible, and so does every other kind of warning but the few of UNACTIONABLE, which
third-party code raises whatever this repository does.
"""

from __future__ import annotations

import os
import runpy
import sys
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
show_warning = warnings.showwarning
# The beginnings of third-party warnings raised whatever the project does: Rasa 3.6 warns of the
# slot auto-fill of Rasa 2 on every load of a domain with slots (rasa/shared/core/slot_mappings.py,
# validate_slot_mappings: no condition), twice in each safety gate run.
UNACTIONABLE = ("Slot auto-fill has been removed in 3.0",)


def is_project_file(filename: str) -> bool:
    if filename.startswith("<"):  # "<frozen importlib._bootstrap>", "<string>"
        return False
    path = Path(filename).resolve()
    if not path.is_relative_to(REPO):
        return False
    parts = path.relative_to(REPO).parts
    return bool(parts) and not parts[0].startswith(".venv")


def show_unless_third_party_deprecation(message, category, filename, lineno, file=None,
                                        line=None) -> None:
    if not is_project_file(filename) and (issubclass(category, DeprecationWarning)
                                          or str(message).startswith(UNACTIONABLE)):
        return
    show_warning(message, category, filename, lineno, file, line)


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__)
        sys.exit(0 if len(sys.argv) >= 2 else 2)
    warnings.showwarning = show_unless_third_party_deprecation
    module = sys.argv[1]
    sys.argv = [module, *sys.argv[2:]]
    sys.path[0] = os.getcwd()  # as `python -m` has it, instead of scripts/
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
