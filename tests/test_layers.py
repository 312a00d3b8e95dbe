"""The import layering of docs/architecture.md: values, pure decisions, the shell, the stores.

Each module belongs to one layer, and a layer imports only from the layers
below it. The pure core never imports the shell or the stores; the stores
never import the shell. A new module must be given its layer here.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "carekit"

VALUES = {"carekit.exceptions", "carekit._time", "carekit._fast", "carekit._duration",
          "carekit._model", "carekit._check", "carekit._effects", "carekit._send",
          "carekit._figure"}  # fmt: skip
CORE = {
    "carekit._lifecycle", "carekit._calendar", "carekit._country_holidays", "carekit._timeline",
    "carekit._sla", "carekit._sla_report", "carekit._selector", "carekit._policy_file",
    "carekit._escalation", "carekit.campaigns._planning", "carekit.campaigns.recipes",
    "carekit.kpis", "carekit.staffing", "carekit.i18n", "carekit._tick", "carekit._window",
    "carekit.campaigns._history", "carekit.health._clv", "carekit.health._fit",
    "carekit.health._signals", "carekit.health._score", "carekit.health._config",
    "carekit.health._report", "carekit.health._vector", "carekit._hours", "carekit._combined",
    "carekit._ics", "carekit.routing", "carekit._follow_up",
}  # fmt: skip
PROTOCOLS = {"carekit.protocols"}
STORES = {"carekit.stores", "carekit.stores._codec", "carekit.stores._rows",
          "carekit.stores.memory", "carekit.stores.sqlite", "carekit.stores.postgres",
          "carekit.stores._pg", "carekit.aio.memory", "carekit.aio.postgres"}  # fmt: skip
SHELL = {
    "carekit._desk", "carekit._clock", "carekit._worker", "carekit.campaigns._scheduler",
    "carekit.aio._desk", "carekit.aio._scheduler", "carekit.senders", "carekit.senders.webhook",
    "carekit.senders.smtp", "carekit.senders.whatsapp",
    "carekit.simulate",
    "carekit.simulate._engine", "carekit.simulate._model", "carekit.simulate._replay",
    "carekit.simulate._report", "carekit.simulate._health", "carekit._cli", "carekit.__main__",
    "carekit.testing",
}  # fmt: skip
FACADES = {
    "carekit",
    "carekit.campaigns",
    "carekit.aio",
    "carekit.health",
    "carekit.calendars",
    "carekit.waiting",
}  # re-export what lies below them

MAY_IMPORT = {
    "values": VALUES,
    "core": VALUES | CORE | PROTOCOLS,
    "protocols": VALUES | CORE,
    "stores": VALUES | CORE | PROTOCOLS | STORES,
}
LAYER = {
    **dict.fromkeys(VALUES, "values"),
    **dict.fromkeys(CORE, "core"),
    **dict.fromkeys(PROTOCOLS, "protocols"),
    **dict.fromkeys(STORES, "stores"),
}
# The one upward import, lazy: a hand-built TicketEvent takes its default roles
# from the default lifecycle's trigger table.
EXCEPTIONS = {("carekit._model", "carekit._lifecycle")}


def _modules() -> dict[str, Path]:
    found = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC).with_suffix("").parts
        name = ".".join(("carekit", *parts)).removesuffix(".__init__")
        found[name] = path
    return found


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("carekit"):
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names |= {a.name for a in node.names if a.name.startswith("carekit")}
    return names


def test_every_module_has_a_layer() -> None:
    """A new module is placed in a layer on purpose."""
    placed = VALUES | CORE | PROTOCOLS | STORES | SHELL | FACADES
    assert set() == set(_modules()) - placed
    assert set() == placed - set(_modules())


def test_each_layer_imports_only_from_below() -> None:
    """The core never imports the shell or the stores; the stores never import the shell."""
    wrong = sorted(
        (module, imported)
        for module, path in _modules().items()
        if module in LAYER
        for imported in _imports(path)
        if imported not in MAY_IMPORT[LAYER[module]] and (module, imported) not in EXCEPTIONS
    )
    assert [] == wrong
