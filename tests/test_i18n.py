from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from carekit import i18n
from carekit.exceptions import InvalidValue, TemplateError
from carekit.i18n import (
    TEMPLATES,
    CatalogRenderer,
    Money,
    Template,
    format_datetime,
    format_duration_locale,
    format_money,
)


@pytest.mark.parametrize(
    ("seconds", "locale", "expected"),
    [
        (86_400, "id", "24 jam"),
        (30, "id", "30 detik"),
        (86_400, "en", "24 hours"),
        (3 * 86_400, "en", "3 days"),
        (90 * 60, "id", "90 menit"),
    ],
)
def test_durations_by_locale(seconds: int, locale: str, expected: str) -> None:
    """Durations read naturally: 24 hours stay hours."""
    assert expected == format_duration_locale(timedelta(seconds=seconds), locale)


def test_dates_in_the_readers_zone_and_money() -> None:
    """The same instant reads as 09:00 in Jakarta; rupiah without decimals."""
    at = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    assert "2 Mar 2026 09.00.00" == format_datetime(at, "id", "Asia/Jakarta")
    assert "Mar 1, 2026, 9:00:00\u202fPM" == format_datetime(at, "en_US", "America/New_York")
    assert "Rp50.000" == format_money(Money(50000, "IDR"), "id")
    assert "Rp50.000,50" == format_money(Money("50000.50", "IDR"), "id")
    assert "$19.99" == format_money(Money("19.99", "USD"), "en_US")


def test_every_template_has_an_indonesian_translation() -> None:
    """No built-in template falls back to English in Indonesian."""
    renderer = CatalogRenderer()
    fields: dict[str, object] = dict.fromkeys(
        ["name", "ticket_id", "shop", "voucher_code", "product", "link"], "x"
    )
    fields |= {"eta": datetime(2026, 3, 2, tzinfo=UTC), "voucher_value": Money(50000, "IDR")}
    fields |= {
        "opens_at": datetime(2026, 3, 2, tzinfo=UTC),
        "reply_by": datetime(2026, 3, 3, tzinfo=UTC),
    }
    for name in TEMPLATES:
        english = renderer.render(name, locale="en", fields=fields)
        indonesian = renderer.render(name, locale="id", fields=fields)
        assert "id" == indonesian.locale
        assert english.body != indonesian.body, name
        assert english.subject != indonesian.subject, name


def test_locale_fallback_chain() -> None:
    """Customer's locale, its language, the desk default, then English."""
    renderer = CatalogRenderer(default_locale="id")
    assert "id" == renderer.language_for("id_ID")
    assert "id" == renderer.language_for("fr")  # no French catalog: the desk's default
    assert "en" == CatalogRenderer().language_for("fr")
    assert (
        "Selamat ulang tahun, Budi!"
        == renderer.render(
            "birthday_greeting", locale="fr_FR", fields={"name": "Budi", "shop": "Toko"}
        ).subject
    )


def test_fields_are_formatted_for_the_reader() -> None:
    """Datetimes, durations and money in the message follow the reader's locale and zone."""
    msg = CatalogRenderer().render(
        "apology_voucher",
        locale="id",
        timezone="Asia/Jakarta",
        fields={
            "name": "Siti",
            "ticket_id": "T-9",
            "voucher_value": Money(50000),
            "voucher_code": "MAAF50",
        },
    )
    assert "Rp50.000" in msg.body
    assert "MAAF50" in msg.body
    assert msg.body.startswith("Halo Siti")


def test_host_templates_and_catalogs(tmp_path: Path) -> None:
    """A host adds a template and its own Indonesian catalog."""
    folder = tmp_path / "id" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "carekit.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
        'msgid "Your parcel {order} is on its way"\nmsgstr "Paket {order} sedang dikirim"\n',
        encoding="utf-8",
    )
    renderer = CatalogRenderer(
        templates={
            **TEMPLATES,
            "shipped": Template("Shipped", "Your parcel {order} is on its way"),
        },
        catalogs=[tmp_path],
    )
    assert (
        "Paket A-1 sedang dikirim"
        == renderer.render("shipped", locale="id", fields={"order": "A-1"}).body
    )


def test_unknown_template_and_locale_are_typed_errors() -> None:
    """Typos are InvalidValue errors naming the field."""
    with pytest.raises(InvalidValue, match="template"):
        CatalogRenderer().render("nope", locale="en", fields={})
    with pytest.raises(InvalidValue, match="locale"):
        format_duration_locale(timedelta(1), "xx_NOPE")


# -- rendering is total or refused (issue 14) -------------------------------------------------

SHIPPED = sorted(p.name for p in (Path(i18n.__file__).parent / "locale").iterdir() if p.is_dir())
SAMPLE: dict[str, object] = {
    "name": "Siti",
    "ticket_id": "T-1",
    "shop": "Toko Sejahtera",
    "voucher_code": "MAAF-T-1",
    "product": "Rice cooker",
    "link": "https://toko.example/care",
    "eta": datetime(2026, 3, 2, 2, 0, tzinfo=UTC),
    "voucher_value": Money(50000, "IDR"),
    "opens_at": datetime(2026, 3, 9, 1, 0, tzinfo=UTC),
    "reply_by": datetime(2026, 3, 9, 5, 0, tzinfo=UTC),
}


@pytest.mark.parametrize("locale", ["en", *SHIPPED])
@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_every_shipped_template_renders_completely_in_every_shipped_locale(
    template: str, locale: str
) -> None:
    """With exactly the fields it names: no brace left, every value in place."""
    needed = TEMPLATES[template].fields
    assert needed <= set(SAMPLE), f"{template} names a field no recipe documents"
    message = CatalogRenderer().render(
        template, locale=locale, timezone="Asia/Jakarta", fields={k: SAMPLE[k] for k in needed}
    )
    text = message.subject + message.body
    assert "{" not in text
    assert "}" not in text
    for field in needed & {"name", "ticket_id", "voucher_code", "product", "link"}:
        assert str(SAMPLE[field]) in text


@pytest.mark.parametrize(
    ("fields", "field", "problem"),
    [
        ({"ticket_id": "T-1", "eta": SAMPLE["eta"]}, "name", "is missing"),
        ({"name": " ", "ticket_id": "T-1", "eta": SAMPLE["eta"]}, "name", "is empty"),
        ({"name": "Siti", "ticket_id": "T-1", "eta": "tomorrow"}, "eta", "must be a datetime"),
        ({"name": "Siti", "ticket_id": None, "eta": SAMPLE["eta"]}, "ticket_id", "wrong type"),
        ({"name": "Siti", "ticket_id": 1.5, "eta": SAMPLE["eta"]}, "ticket_id", "wrong type"),
        ({"name": ["S"], "ticket_id": "T-1", "eta": SAMPLE["eta"]}, "name", "wrong type"),
        (
            {"name": "Siti", "ticket_id": "T-1", "eta": datetime(2026, 3, 2)},  # noqa: DTZ001
            "eta",
            "without a time zone",
        ),
    ],
)
def test_an_incomplete_message_is_refused_with_the_field(
    fields: dict[str, object], field: str, problem: str
) -> None:
    """A missing, empty or wrongly typed field: TemplateError naming it, in every language."""
    for locale in ("en", "id"):
        with pytest.raises(TemplateError) as info:
            CatalogRenderer().render("eta_notice", locale=locale, fields=fields)
        assert field == info.value.field
        assert problem in str(info.value)
        assert isinstance(info.value, ValueError)
        assert "template" == info.value.code


def test_an_unknown_template_or_a_bad_placeholder_is_refused() -> None:
    """Unknown names, stray braces and attribute placeholders are TemplateErrors too."""
    with pytest.raises(TemplateError, match="is not a template"):
        CatalogRenderer().render("nope", locale="en", fields={})
    odd = CatalogRenderer(templates={"a": Template("Hi {name", "x"), "b": Template("{a.b}", "x")})
    with pytest.raises(TemplateError, match="stray brace"):
        odd.render("a", locale="en", fields={"name": "x"})
    with pytest.raises(TemplateError, match="plain name"):
        odd.render("b", locale="en", fields={"a": "x"})


@pytest.mark.parametrize("locale", ["jv_ID", "su_ID", "jv", "su"])
def test_javanese_and_sundanese_customers_get_the_desks_language(locale: str) -> None:
    """No Javanese or Sundanese catalog: the chain falls to the configured default."""
    renderer = CatalogRenderer(default_locale="id")
    message = renderer.render(
        "birthday_greeting", locale=locale, fields={"name": "Asep", "shop": "Toko"}
    )
    assert ("id", "Selamat ulang tahun, Asep!") == (message.locale, message.subject)
