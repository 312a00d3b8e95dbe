"""Customer health and customer lifetime value.

Health: churn signals from what carekit knows (:class:`History`: tickets,
survey answers, orders), each a small :class:`Signal` that explains itself; a
points model (:class:`HealthModel`: weights adding up to 100, bands, trend,
explanation); a change of band is a ``health_changed`` care event that
campaigns react to (:class:`~carekit.campaigns.OnHealth`).

CLV: named formulas (:func:`historic_clv`, :func:`simple_clv`,
:func:`retention_clv`) and the predictive BG/NBD and Gamma-Gamma models
(:class:`BgNbd`, :class:`GammaGamma`, :class:`Predictive`), pure Python;
fitting them (:func:`fit_bgnbd`, :func:`fit_gamma_gamma`) needs the ``clv``
extra (SciPy).
"""

from carekit.health._clv import (
    BgNbd,
    GammaGamma,
    Order,
    Predictive,
    PurchaseSummary,
    historic_clv,
    hyp2f1,
    retention_clv,
    simple_clv,
    summarise,
)
from carekit.health._fit import fit_bgnbd, fit_gamma_gamma
from carekit.health._report import HealthReport, health_report
from carekit.health._score import Bands, HealthModel, HealthScore
from carekit.health._signals import (
    DEFAULT_SIGNALS,
    BadCsat,
    Counted,
    FallingOrders,
    History,
    NpsDetractor,
    OldestOpenTicket,
    PurchaseGap,
    Reading,
    Reassignments,
    Reopenings,
    RepeatContacts,
    Signal,
    SlaBreaches,
)

__all__ = [
    "DEFAULT_SIGNALS",
    "BadCsat",
    "Bands",
    "Counted",
    "FallingOrders",
    "HealthModel",
    "HealthReport",
    "HealthScore",
    "History",
    "NpsDetractor",
    "OldestOpenTicket",
    "PurchaseGap",
    "Reading",
    "Reassignments",
    "Reopenings",
    "RepeatContacts",
    "Signal",
    "SlaBreaches",
    "BgNbd",
    "GammaGamma",
    "Order",
    "Predictive",
    "PurchaseSummary",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "health_report",
    "historic_clv",
    "hyp2f1",
    "retention_clv",
    "simple_clv",
    "summarise",
]
