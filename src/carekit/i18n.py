"""Localisation: durations, dates, money and the built-in message templates.

Built-in templates are English source strings translated through gettext
catalogs shipped as ``.po`` files (``carekit/locale/<lang>/LC_MESSAGES/
carekit.po``: English and Indonesian). They are compiled in memory the first
time a language is used, so there is no build step. Hosts add or replace
templates through the :class:`~carekit.protocols.TemplateRenderer` protocol, or by
giving :class:`CatalogRenderer` their own templates and catalog folder.

Locale fallback: the customer's locale, its language, the desk's default,
then English.
"""

from __future__ import annotations

import gettext
import re
import string
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import Any, Literal

import attrs
from babel import Locale, UnknownLocaleError

from carekit._check import checked, typed_fields
from carekit._time import zone
from carekit.exceptions import InvalidValue, TemplateError

__all__ = [
    "TEMPLATES",
    "ApprovedMessage",
    "ApprovedTemplate",
    "CatalogRenderer",
    "Message",
    "Money",
    "Template",
    "format_datetime",
    "format_duration_locale",
    "format_money",
]

_LOCALE_DIR = Path(__file__).parent / "locale"
_DOMAIN = "carekit"


@attrs.frozen(field_transformer=typed_fields)
class Money:
    """An amount in a currency (ISO 4217 code), formatted by locale."""

    amount: Decimal = attrs.field(converter=Decimal)
    currency: str = "IDR"


@checked
def format_duration_locale(value: timedelta, locale: str) -> str:
    """A duration in words: ``24 jam``, ``30 detik`` / ``24 hours``, ``3 days``.

    A unit is used from two of it upwards, so 24 hours stay hours.

    Examples:
        >>> format_duration_locale(timedelta(hours=24), "id")
        '24 jam'
        >>> format_duration_locale(timedelta(seconds=30), "en")
        '30 seconds'
    """
    from babel.dates import format_timedelta  # noqa: PLC0415 - babel's formatters load at first use

    return format_timedelta(value, threshold=2, locale=_locale(locale))


@checked
def format_datetime(value: datetime, locale: str, timezone: str = "UTC") -> str:
    """A date and time in the reader's zone and language.

    >>> from datetime import UTC
    >>> format_datetime(datetime(2026, 3, 2, 2, 0, tzinfo=UTC), "id", "Asia/Jakarta")
    '2 Mar 2026 09.00.00'
    """
    from babel.dates import format_datetime  # noqa: PLC0415 - babel's formatters load at first use

    return format_datetime(value, "medium", tzinfo=zone(timezone), locale=_locale(locale))


@checked
def format_money(value: Money, locale: str) -> str:
    """Money by locale; whole amounts without decimals (``Rp50.000``).

    >>> format_money(Money(50000, "IDR"), "id")
    'Rp50.000'
    """
    loc = _locale(locale)
    pattern = loc.currency_formats["standard"].pattern
    if value.amount == value.amount.to_integral_value():
        pattern = re.sub(r"\.0+", "", pattern)
    from babel.numbers import format_currency  # noqa: PLC0415 - loads at first use

    return format_currency(
        value.amount, value.currency, format=pattern, locale=loc, currency_digits=False
    )


def _locale(name: str) -> Locale:
    try:
        return Locale.parse(name.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError) as exc:
        raise InvalidValue("locale", name, "a known locale such as 'id' or 'en_US'") from exc


# -- templates --------------------------------------------------------------------------


def _names(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _languages(value: Iterable[str]) -> frozenset[str]:
    return frozenset(value)


@attrs.frozen(field_transformer=typed_fields)
class ApprovedTemplate:
    """A message template the provider approved (WhatsApp's message templates).

    Outside a channel's reply window (WhatsApp: 24 hours after the customer's
    last message) only such a template may be sent; carekit sends it by name,
    language and parameters, and the provider fills in its approved text.

    Attributes:
        name: its name at the provider.
        parameters: the template fields that fill its ``{{1}}``, ``{{2}}``..., in order.
        languages: the languages it is approved in (empty: every language the
            message is rendered in).
    """

    name: str
    parameters: tuple[str, ...] = attrs.field(default=(), converter=_names)
    languages: frozenset[str] = attrs.field(default=frozenset(), converter=_languages)

    def __attrs_post_init__(self) -> None:
        if not self.name:
            raise InvalidValue("name", self.name, "the template's name at the provider")


@attrs.frozen
class ApprovedMessage:
    """An approved template filled in for one reader: what a WhatsApp sender sends.

    Attributes:
        name: the template's name at the provider.
        language: the language it is sent in.
        parameters: its parameters' values, formatted for the reader, in order.
    """

    name: str
    language: str
    parameters: tuple[str, ...]


@attrs.frozen
class Template:
    """A message template: English subject and body with ``{field}`` placeholders.

    Every placeholder must be given a value at render, and ``types`` can require a
    type for a field (``{"eta": datetime}``); see :meth:`CatalogRenderer.render`.
    ``approved`` names the provider-approved template that may carry the same
    message outside a reply window (see :class:`ApprovedTemplate`).
    """

    subject: str
    body: str
    types: Mapping[str, type] = attrs.field(factory=dict, hash=False)
    approved: ApprovedTemplate | None = None

    @property
    def fields(self) -> frozenset[str]:
        """The placeholders of the English source."""
        return _placeholders(self.subject, "?", "en") | _placeholders(self.body, "?", "en")


_EN_ID = frozenset({"en", "id"})

TEMPLATES: Mapping[str, Template] = {
    "eta_notice": Template(
        "An update on your request {ticket_id}",
        "Hello {name}, we are still working on your request {ticket_id}. "
        "You can expect an answer by {eta}. Thank you for your patience.",
        types={"eta": datetime},
        approved=ApprovedTemplate("carekit_eta_notice", ("name", "ticket_id", "eta"), _EN_ID),
    ),
    "csat_survey": Template(
        "How did we do?",
        "Hello {name}, your request {ticket_id} has been resolved. "
        "How satisfied are you with our help? Reply with a number from 1 to 5.",
        approved=ApprovedTemplate("carekit_csat_survey", ("name", "ticket_id"), _EN_ID),
    ),
    "nps_survey": Template(
        "Would you recommend us?",
        "Hello {name}, how likely are you to recommend {shop} to a friend? "
        "Reply with a number from 0 to 10.",
    ),
    "apology_voucher": Template(
        "We are sorry",
        "Hello {name}, we took longer than we promised with your request {ticket_id}. "
        "We apologise. Please accept this voucher worth {voucher_value}: {voucher_code}.",
        types={"voucher_value": Money},
        approved=ApprovedTemplate(
            "carekit_apology_voucher",
            ("name", "ticket_id", "voucher_value", "voucher_code"),
            _EN_ID,
        ),
    ),
    "care_tips": Template(
        "Getting the most out of your {product}",
        "Hello {name}, thank you for buying {product}. Here are a few tips to keep it "
        "working well: {link}",
    ),
    "loyalty_invitation": Template(
        "An invitation for you",
        "Hello {name}, thank you for being a loyal customer of {shop}. "
        "We would like to invite you to our loyalty programme: {link}",
    ),
    "birthday_greeting": Template(
        "Happy birthday, {name}!",
        "Happy birthday, {name}! Everyone at {shop} wishes you a wonderful day.",
        approved=ApprovedTemplate("carekit_birthday_greeting", ("name", "shop"), _EN_ID),
    ),
    "check_in": Template(
        "How is everything?",
        "Hello {name}, we wanted to check that everything is going well. "
        "If you need anything, just reply to this message.",
    ),
    "out_of_hours": Template(
        "We have received your request {ticket_id}",
        "Hello {name}, thank you for your message. We are closed right now and open again "
        "{opens_at}. You can expect our reply by {reply_by}.",
        types={"opens_at": datetime, "reply_by": datetime},
        approved=ApprovedTemplate(
            "carekit_out_of_hours", ("name", "ticket_id", "opens_at", "reply_by"), _EN_ID
        ),
    ),
    "nudge": Template(
        "Are you still there?",
        "Hello {name}, we are waiting for your answer on your request {ticket_id}. "
        "Just reply to this message and we will carry on.",
        approved=ApprovedTemplate("carekit_nudge", ("name", "ticket_id"), _EN_ID),
    ),
    "auto_resolved": Template(
        "We have closed your request {ticket_id}",
        "Hello {name}, we have not heard from you, so we have marked your request "
        "{ticket_id} as resolved. If you still need help, just reply and we will reopen it.",
        approved=ApprovedTemplate("carekit_auto_resolved", ("name", "ticket_id"), _EN_ID),
    ),
    "win_back": Template(
        "We miss you",
        "Hello {name}, it has been a while. We would love to see you again at {shop}: {link}",
    ),
}
"""The built-in templates, by name (English source text; see the catalogs).

The service messages (the ETA notice, the CSAT survey, the apology, the birthday
greeting, the out-of-hours acknowledgement, the nudge and the automatic
resolution) declare the WhatsApp templates a host registers to send them outside
the 24-hour window (``carekit_<name>``, in English and Indonesian); the others
have none, so outside the window they go on another consented channel or not
at all. Replace or add references with :class:`CatalogRenderer`'s ``approved``.
"""


@attrs.frozen
class Message:
    """A rendered message: what the sender sends.

    Attributes:
        template: the template's name.
        locale: the language it was rendered in.
        subject: the subject line.
        body: the text.
        approved: the same message as a provider-approved template, when the
            template declares one for this language.
        form: ``"text"`` (free-form: ``subject`` and ``body``) or ``"template"``
            (outside a reply window: send ``approved``, never the text).
    """

    template: str
    locale: str
    subject: str
    body: str
    approved: ApprovedMessage | None = None
    form: Literal["text", "template"] = "text"


class CatalogRenderer:
    """The default renderer: built-in (or given) templates through gettext catalogs.

    Args:
        default_locale: the desk's language, used when the customer's has no catalog.
        templates: templates by name (default: :data:`TEMPLATES`); add your own here.
        catalogs: extra folders of ``<lang>/LC_MESSAGES/carekit.po`` files, searched first.
        approved: the provider-approved template of each message type, by template
            name, over the templates' own (``None`` removes one).

    Examples:
        >>> from datetime import UTC
        >>> renderer = CatalogRenderer()
        >>> msg = renderer.render("eta_notice", locale="id_ID", timezone="Asia/Jakarta",
        ...                       fields={"name": "Siti", "ticket_id": "T-1",
        ...                               "eta": datetime(2026, 3, 2, 2, 0, tzinfo=UTC)})
        >>> msg.locale
        'id'
        >>> print(msg.body)  # doctest: +NORMALIZE_WHITESPACE
        Halo Siti, kami masih menangani permintaan Anda T-1. Anda dapat mengharapkan
        jawaban paling lambat 2 Mar 2026 09.00.00. Terima kasih atas kesabaran Anda.
    """

    @checked
    def __init__(
        self,
        default_locale: str = "en",
        templates: Mapping[str, Template] | None = None,
        catalogs: Iterable[Path] = (),
        approved: Mapping[str, ApprovedTemplate | None] | None = None,
    ) -> None:
        self.default_locale = default_locale
        self.templates = dict(TEMPLATES if templates is None else templates)
        for name, reference in (approved or {}).items():
            if name not in self.templates:
                raise InvalidValue(f"approved.{name}", name, f"one of {sorted(self.templates)}")
            self.templates[name] = attrs.evolve(self.templates[name], approved=reference)
        self.folders = (*tuple(Path(c) for c in catalogs), _LOCALE_DIR)

    @checked
    def approved(self, template: str, locale: str) -> ApprovedTemplate | None:
        """The approved template that may carry ``template`` to a reader in ``locale``."""
        source = self.templates.get(template)
        reference = None if source is None else source.approved
        if reference is None:
            return None
        language = self.language_for(locale)
        return reference if not reference.languages or language in reference.languages else None

    @checked
    def language_for(self, locale: str) -> str:
        """The first of the locale, its language, the default and English with a catalog."""
        language = locale.replace("-", "_").split("_", 1)[0]
        candidates = [locale, language, self.default_locale, "en"]
        for candidate in candidates:
            if candidate == "en" or _catalog(self.folders, candidate) is not None:
                return candidate
        return "en"  # pragma: no cover - "en" is always a candidate

    @checked
    def render(
        self, template: str, *, locale: str, timezone: str = "UTC", fields: Mapping[str, Any]
    ) -> Message:
        """Render ``template`` in the best language available for ``locale``, completely.

        Every placeholder of the subject and body (as translated) gets its field,
        formatted for the reader: text, whole numbers and decimals as they are;
        datetimes, dates, durations and :class:`Money` in the reader's language
        and zone. Fields the template does not use are ignored.

        Raises:
            TemplateError: the template is unknown, a field is missing or empty,
                or has a type the template does not allow (a float, a list, a naive
                datetime, a string where ``types`` asks for a datetime). Nothing
                is rendered half.
        """
        try:
            source = self.templates[template]
        except KeyError:
            raise TemplateError(
                template, locale, None, f"is not a template: one of {sorted(self.templates)}"
            ) from None
        language = self.language_for(locale)
        translations = _catalog(self.folders, language) or _no_translations()
        subject = translations.gettext(source.subject)
        body = translations.gettext(source.body)
        needed = _placeholders(subject, template, language) | _placeholders(
            body, template, language
        )
        reference = self.approved(template, language)
        values = {}
        for name in sorted(needed | set(reference.parameters if reference else ())):
            if name not in fields:
                raise TemplateError(template, language, name, "is missing")
            value = fields[name]
            wanted = source.types.get(name)
            if wanted is not None and not isinstance(value, wanted):
                raise TemplateError(
                    template, language, name, f"must be a {wanted.__name__}, not {value!r}"
                )
            values[name] = _format(value, language, timezone, (template, name))
        filled = (
            None
            if reference is None
            else ApprovedMessage(
                reference.name, language, tuple(values[p] for p in reference.parameters)
            )
        )
        return Message(
            template, language, subject.format_map(values), body.format_map(values), filled
        )


_FORMATTER = string.Formatter()


def _placeholders(text: str, template: str, language: str) -> frozenset[str]:
    """The field names of ``text``'s placeholders; plain names only."""
    try:
        names = {name for _, name, _, _ in _FORMATTER.parse(text) if name is not None}
    except ValueError as exc:
        raise TemplateError(template, language, None, f"has a stray brace: {exc}") from None
    for name in names:
        if not name.isidentifier():
            raise TemplateError(template, language, name or "(empty)", "is not a plain name")
    return frozenset(names)


def _format(value: Any, locale: str, timezone: str, where: tuple[str, str]) -> str:
    template, name = where
    if isinstance(value, str):
        if not value.strip():
            raise TemplateError(template, locale, name, "is empty")
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise TemplateError(template, locale, name, "is a datetime without a time zone")
        return format_datetime(value, locale, timezone)
    if isinstance(value, date):
        from babel.dates import format_date  # noqa: PLC0415 - babel's formatters load at first use

        return str(format_date(value, format="medium", locale=_locale(locale)))
    if isinstance(value, timedelta):
        return format_duration_locale(value, locale)
    if isinstance(value, Money):
        return format_money(value, locale)
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return str(value)
    kind = "nothing" if value is None else type(value).__name__
    raise TemplateError(
        template, locale, name,
        f"has the wrong type ({kind}): text, a whole number, a Decimal, a date, a datetime, "
        "a duration or Money",
    )  # fmt: skip


def _no_translations() -> gettext.NullTranslations:
    from babel.support import NullTranslations  # noqa: PLC0415 - catalogs load at first use

    return NullTranslations()


@lru_cache(maxsize=64)
def _catalog(folders: tuple[Path, ...], language: str) -> gettext.NullTranslations | None:
    """The language's catalog compiled in memory from its ``.po`` file, or ``None``."""
    # babel's catalog readers load at first use, not at import
    from babel.messages.mofile import write_mo  # noqa: PLC0415
    from babel.messages.pofile import read_po  # noqa: PLC0415
    from babel.support import Translations  # noqa: PLC0415

    for folder in folders:
        po = folder / language / "LC_MESSAGES" / f"{_DOMAIN}.po"
        if po.is_file():
            with po.open("rb") as f:
                catalog = read_po(f, locale=language, domain=_DOMAIN)
            buffer = BytesIO()
            write_mo(buffer, catalog)
            buffer.seek(0)
            return Translations(fp=buffer, domain=_DOMAIN)
    return None
