"""Choosing the SLA policy for a ticket: ordered rules, the first match wins."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import attrs

from carekit._check import checked
from carekit._model import Customer, Ticket
from carekit._sla import SlaPolicy

__all__ = ["PolicyRule", "PolicySelector", "Selection"]

Predicate = Callable[[Ticket, Customer | None], bool]


@attrs.frozen
class PolicyRule:
    """Use ``policy`` for tickets where ``when(ticket, customer)`` is true.

    Attributes:
        name: a label for explanations (``"vip customers"``).
        when: the predicate; ``customer`` is ``None`` when the host has none.
        policy: the policy to use.
    """

    name: str
    when: Predicate = attrs.field(eq=False)
    policy: SlaPolicy = attrs.field(eq=False)


@attrs.frozen
class Selection:
    """Which policy was chosen, and by which rule (``rule`` is ``None`` for the default).

    Attributes:
        policy: the policy chosen.
        rule: the rule that matched, or ``None`` when none did.
    """

    policy: SlaPolicy = attrs.field(eq=False)
    rule: PolicyRule | None = attrs.field(eq=False)

    def explain(self) -> str:
        """One line: which policy and why."""
        if self.rule is None:
            return f"policy {self.policy.name!r}: no rule matched, the default applies"
        return f"policy {self.policy.name!r}: rule {self.rule.name!r} matched"


class PolicySelector:
    """Ordered rules and a default; the first rule whose predicate holds wins.

    Subclass and override :meth:`choose` to select another way (a lookup in the
    host's contract table, say).

    Examples:
        >>> from datetime import UTC, datetime
        >>> vip = SlaPolicy("vip", {})
        >>> selector = PolicySelector(
        ...     [PolicyRule("vip customers", lambda t, c: c is not None and c.tier == "vip", vip)],
        ...     default=SlaPolicy.default(),
        ... )
        >>> t = Ticket.open("T-1", channel="email", customer_id="c", at=datetime.now(UTC))
        >>> selector.choose(t, Customer("c", tier="vip")).explain()
        "policy 'vip': rule 'vip customers' matched"
    """

    @checked
    def __init__(self, rules: Sequence[PolicyRule], default: SlaPolicy) -> None:
        self.rules = tuple(rules)
        self.default = default

    @checked
    def choose(self, ticket: Ticket, customer: Customer | None = None) -> Selection:
        """The policy for ``ticket`` and the rule that chose it."""
        for rule in self.rules:
            if rule.when(ticket, customer):
                return Selection(rule.policy, rule)
        return Selection(self.default, None)

    @checked
    def select(self, ticket: Ticket, customer: Customer | None = None) -> SlaPolicy:
        """The policy for ``ticket`` (see :meth:`choose` for the why)."""
        return self._select(ticket, customer)

    def _select(self, ticket: Ticket, customer: Customer | None = None) -> SlaPolicy:
        if not self.rules and type(self).choose is PolicySelector.choose:
            return self.default  # nothing to choose from: skip building the explanation
        return self.choose(ticket, customer).policy
