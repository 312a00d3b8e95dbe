from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pendulum
import pytest

from carekit import CarekitError, Channel, Customer, Priority, Status, Ticket, TicketEvent
from carekit._model import as_status
from carekit.exceptions import InvalidValue, NaiveDatetimeError, UnknownTimezoneError


def test_priorities_are_ordered() -> None:
    """Priorities compare by urgency."""
    assert Priority.LOW < Priority.NORMAL < Priority.HIGH < Priority.URGENT
    assert max([Priority.HIGH, Priority.URGENT, Priority.LOW]) is Priority.URGENT


def test_open_returns_new_ticket_with_created_event(t0: datetime) -> None:
    """Ticket.open holds exactly its created event, with the opening data."""
    ticket = Ticket.open(
        "T-9", channel="phone", customer_id="c-2", at=t0, priority=Priority.HIGH, order="A-1"
    )
    assert Status.NEW == ticket.status
    assert Channel.PHONE == ticket.channel
    assert Priority.HIGH == ticket.priority
    assert ["created"] == [e.kind for e in ticket.events]
    assert "A-1" == ticket.events[0].data["order"]
    assert 1 == ticket.version


def test_timestamps_are_stored_in_utc() -> None:
    """An aware datetime in another zone is stored as the same instant in UTC."""
    jakarta = pendulum.datetime(2026, 3, 2, 16, 0, tz="Asia/Jakarta")
    ticket = Ticket.open("T-1", channel="chat", customer_id="c", at=jakarta)
    assert datetime(2026, 3, 2, 9, 0, tzinfo=UTC) == ticket.created_at
    assert UTC is ticket.created_at.tzinfo
    assert type(ticket.created_at) is datetime


def test_naive_datetime_is_refused() -> None:
    """A naive datetime raises NaiveDatetimeError, which is also a ValueError."""
    with pytest.raises(NaiveDatetimeError) as info:
        Ticket.open("T-1", channel="chat", customer_id="c", at=datetime(2026, 1, 1))  # noqa: DTZ001
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, CarekitError)
    assert "at" == info.value.name


def test_fixed_offset_is_accepted() -> None:
    """Any aware datetime is fine, fixed offsets included."""
    at = datetime(2026, 1, 1, 7, 0, tzinfo=timezone(timedelta(hours=7)))
    assert datetime(2026, 1, 1, 0, 0, tzinfo=UTC) == TicketEvent("x", at).at


def test_unknown_channel_is_a_typed_error(t0: datetime) -> None:
    """A channel outside the enum names the field and the accepted values."""
    with pytest.raises(InvalidValue, match="channel='fax'"):
        Ticket.open("T-1", channel="fax", customer_id="c", at=t0)


def test_customer_validates_zone_and_locale() -> None:
    """Unknown zones and locales are refused with typed errors."""
    with pytest.raises(UnknownTimezoneError) as info:
        Customer("c", timezone="Mars/Olympus")
    assert "Mars/Olympus" == info.value.zone
    with pytest.raises(InvalidValue, match="locale"):
        Customer("c", locale="xx_NOPE")


def test_customer_consent_per_channel() -> None:
    """Consent is per channel; strings are accepted and normalised."""
    customer = Customer(
        "c",
        name="Siti",
        locale="id",
        timezone="Asia/Jakarta",
        birthday=date(1990, 2, 28),
        consent={"email", Channel.WHATSAPP},
        preferred_channel="whatsapp",
    )
    assert customer.consents_to(Channel.EMAIL)
    assert customer.consents_to("whatsapp")
    assert not customer.consents_to(Channel.PHONE)
    assert Channel.WHATSAPP is customer.preferred_channel


def test_event_data_is_read_only(t0: datetime) -> None:
    """An event's data cannot be changed after the fact."""
    event = TicketEvent("assign", t0, data={"agent": "ana"})
    with pytest.raises(TypeError):
        event.data["agent"] = "bob"  # type: ignore[index]


def test_as_status_maps_built_in_states_and_keeps_host_states() -> None:
    """A built-in status's value becomes its member; a host's own state stays a string."""
    assert Status.OPEN is as_status("open")
    assert "waiting_on_vendor" == as_status("waiting_on_vendor")
    with pytest.raises(InvalidValue):
        as_status("")
