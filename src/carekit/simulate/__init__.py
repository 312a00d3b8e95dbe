"""A care-desk simulator that drives the real engine: what a policy would do, before it does.

See :func:`simulate`, :func:`replay_csv` and :func:`compare`.
"""

from carekit.simulate._engine import SimulationResult, default_escalation, simulate
from carekit.simulate._model import CustomerMix, DeskModel, Shift, shop_desk
from carekit.simulate._replay import compare, replay_csv
from carekit.simulate._report import Comparison, compare_table, kpis, render_html, render_text

__all__ = [
    "Comparison",
    "CustomerMix",
    "DeskModel",
    "Shift",
    "SimulationResult",
    "compare",
    "compare_table",
    "default_escalation",
    "kpis",
    "render_html",
    "render_text",
    "replay_csv",
    "shop_desk",
    "simulate",
]
