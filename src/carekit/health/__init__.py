"""Customer health and customer lifetime value.

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

__all__ = [
    "BgNbd",
    "GammaGamma",
    "Order",
    "Predictive",
    "PurchaseSummary",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "historic_clv",
    "hyp2f1",
    "retention_clv",
    "simple_clv",
    "summarise",
]
