"""Alert templates: what staff may write, and how each message is filled in."""

from __future__ import annotations

import time

import pytest

from customers.models import DataClass, Incident
from notices import templating
from notices.sms import sms_segments
from notices.templating import (
    DEFAULT_TEMPLATES,
    PLACEHOLDERS,
    WORST_CASE_LENGTHS,
    RenderContext,
    clear_label_cache,
    exposed_fields_text,
    render,
    validate_template,
    worst_case_values,
)

REF = "Check ref {reference} at {verify_url}"


@pytest.fixture(autouse=True)
def _portal(settings):
    settings.PORTAL_BASE_URL = "https://firsthand.example"
    settings.MESSAGE_LINK_HOSTS = ["firsthand.example"]
    settings.SUPPORT_PHONE = "1800 123 456"
    settings.SMS_MAX_SEGMENTS = 4


@pytest.fixture(autouse=True)
def _fresh_labels():
    clear_label_cache()
    yield
    clear_label_cache()


def errors_for(body: str, channel: str = "inapp", **kwargs) -> list[str]:
    return validate_template(body, channel=channel, **kwargs)


def test_placeholders():
    assert {
        "first_name",
        "exposed_fields",
        "portal_url",
        "reference",
        "verify_url",
        "support_phone",
        "incident_title",
    } == PLACEHOLDERS


# --- Placeholders and braces ------------------------------------------------------


def test_a_template_using_every_placeholder_is_valid():
    body = " ".join(f"{{{name}}}" for name in sorted(PLACEHOLDERS))
    assert errors_for(body) == []


def test_literal_braces_are_written_doubled():
    assert errors_for("Keep {{this}} as it is. " + REF) == []


def test_unknown_placeholder_is_refused():
    [error] = errors_for("Hi {firstname}. " + REF)
    assert "Unknown placeholder" in error
    assert "{firstname}" in error
    assert "{first_name}" in error  # lists what may be used


@pytest.mark.parametrize("field", ["nope.x", "nope!r", " first_name", "first_name "])
def test_unknown_names_are_reported_as_unknown_whatever_follows(field):
    [error] = errors_for(f"Hi {{{field}}}. " + REF)
    assert "Unknown placeholder" in error


def test_each_unknown_placeholder_is_reported_once():
    assert len(errors_for("{nope} {nope} {nada} " + REF)) == 2


@pytest.mark.parametrize("field", ["first_name.upper", "first_name.__class__", "first_name[0]"])
def test_attribute_and_index_access_is_refused(field):
    [error] = errors_for(f"Hi {{{field}}}. " + REF)
    assert "“.” or “[…]”" in error
    assert "{first_name}" in error


@pytest.mark.parametrize("field", ["0", "1", ""])
def test_positional_placeholders_are_refused(field):
    [error] = errors_for(f"Hi {{{field}}}. " + REF)
    assert "needs a name" in error


@pytest.mark.parametrize("field", ["first_name!r", "first_name:>10", "first_name:", "first_name!s"])
def test_conversions_and_format_specs_are_refused(field):
    [error] = errors_for(f"Hi {{{field}}}. " + REF)
    assert "conversion" in error


@pytest.mark.parametrize(
    "body",
    [
        "Hi {first_name",
        "Hi first_name}",
        "Hi {{first_name}",
        "Hi {first_name:{reference}}",
        "Hi {first_name}}",
        "{",
    ],
)
def test_unbalanced_braces_are_refused(body):
    errors = errors_for(f"{body} {REF}")
    assert any("braces do not match" in e for e in errors)


def test_the_body_must_carry_the_reference():
    [error] = errors_for("Hi {first_name}, see {verify_url}")
    assert "{reference}" in error


def test_an_escaped_reference_does_not_count():
    errors = errors_for("Hi, your reference is {{reference}}")
    assert any("must include {reference}" in e for e in errors)


def test_unknown_channel_is_a_programming_error():
    with pytest.raises(ValueError, match="carrier-pigeon"):
        validate_template(REF, channel="carrier-pigeon")


# --- Links ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "host"),
    [
        ("Go to https://evil.example/login", "evil.example"),
        ("Go to http://evil.example", "evil.example"),
        ("Go to www.evil.example", "www.evil.example"),
        ("Go to evil-site.com/login now", "evil-site.com"),
        ("Go to EVIL-SITE.COM", "evil-site.com"),
        ("Write to help@evil.example.", "evil.example"),
        ("Write to first.last@evil.co.uk", "evil.co.uk"),
        ("Go to https://firsthand.example@evil.example/x", "evil.example"),
        ("Go to https://firsthand.example:443@evil.example", "evil.example"),
        ("Go to {portal_url}.evil.example/login", "{portal_url}.evil.example"),
        ("Go to {portal_url}x.com", "{portal_url}x.com"),
        ("Go to https://{first_name}.evil.example", "evil.example"),
        ("Subdomains are not trusted: help.firsthand.example", "help.firsthand.example"),
        ("Lookalikes neither: firsthand.example.evil.com", "firsthand.example.evil.com"),
        ("Nor other TLDs: firsthand.co", "firsthand.co"),
        ("Numbers: http://192.0.2.7/login", "192.0.2.7"),
        ("Bare numbers: 192.0.2.7/login", "192.0.2.7"),
        ("Wide dots: evil\u3002example", "evil.example"),
        ("(see https://evil.example)", "evil.example"),
        ("ftp://files.evil.example", "files.evil.example"),
    ],
)
def test_links_to_other_hosts_are_refused(text, host):
    errors = errors_for(f"{text} {REF}")
    assert len(errors) == 1, errors
    assert f"“{host}”" in errors[0]
    assert "firsthand.example" in errors[0]  # says what is allowed


@pytest.mark.parametrize(
    "text",
    [
        "See {portal_url}",
        "See {portal_url}.",
        "See {portal_url}/help/what-to-do.html, then",
        "(see {verify_url})",
        "«{portal_url}»",
        "https://firsthand.example/help",
        "HTTPS://FirstHand.Example/help",
        "firsthand.example/help",
        "Write to help@firsthand.example.",
    ],
)
def test_links_to_the_portal_are_allowed(text):
    assert errors_for(f"{text} {REF}") == []


@pytest.mark.parametrize(
    "text",
    [
        "e.g. your name",
        "i.e. your name",
        "3.5 million customers",
        "version 2.0.1",
        "Mr. Smith and Mrs. Jones",
        "names, addresses, etc. were",
        "at 9.30 a.m. or 5 p.m.",
        "in the U.S. and the U.K.",
        "Ph.D. students",
        "No. 5",
        "approx. 20",
        "call 1800.000.000",
        "c.-à-d. votre nom, p. ex. Dupont",
        "N.B. le nom",
        "e-mail",
        "Thanks.{first_name}",
    ],
)
def test_ordinary_punctuation_is_not_taken_for_a_link(text):
    assert errors_for(f"{text} {REF}") == []


@pytest.mark.parametrize(
    "text",
    ["a." * 5000 + "1", "a" * 20000, "a@" * 5000, "ab." * 5000 + "-", "a-" * 10000, "x:" * 10000],
)
def test_link_scanning_stays_fast_on_long_text(text):
    started = time.perf_counter()
    errors_for(text + REF)
    assert time.perf_counter() - started < 1.0


def test_allowed_hosts_default_to_the_portal_host(settings):
    del settings.MESSAGE_LINK_HOSTS
    settings.PORTAL_BASE_URL = "https://alerts.bank.example"
    assert errors_for("See alerts.bank.example " + REF) == []
    assert len(errors_for("See firsthand.example " + REF)) == 1


def test_other_hosts_can_be_allowed(settings):
    settings.MESSAGE_LINK_HOSTS = ["firsthand.example", "Help.Bank.Example"]
    assert errors_for("See https://help.bank.example/breach " + REF) == []


def test_url_placeholders_are_fine_even_off_the_allow_list(settings):
    settings.MESSAGE_LINK_HOSTS = ["help.bank.example"]
    assert errors_for("See {portal_url} " + REF) == []


# --- Email subjects ---------------------------------------------------------------


def test_email_needs_a_subject():
    assert errors_for(REF, channel="email") == ["An email needs a subject."]


def test_email_subject_need_not_carry_the_reference():
    assert errors_for(REF, channel="email", subject="About the breach, {first_name}") == []


def test_email_subject_placeholders_and_links_are_checked():
    errors = errors_for(REF, channel="email", subject="{first_name!r}: see evil.example")
    assert len(errors) == 2
    assert all(e.startswith("Subject: ") for e in errors)


def test_email_subject_is_one_line():
    [error] = errors_for(REF, channel="email", subject="About\nBcc: x@firsthand.example")
    assert "single line" in error


# --- SMS length -------------------------------------------------------------------


def every_class(language: str) -> str:
    return exposed_fields_text(list(DataClass.objects.values_list("code", flat=True)), language)


def longest_sms_fields(language: str) -> str:
    """The three longest labels of the taxonomy, then how many more."""
    labels = [
        exposed_fields_text([code], language)
        for code in DataClass.objects.values_list("code", flat=True)
    ]
    top = sorted(labels, key=len, reverse=True)[:3]
    more = len(labels) - 3
    if language == "fr":
        return f"{', '.join(top)} et {more} autres informations"
    return f"{', '.join(top)} and {more} other details"


@pytest.mark.django_db
def test_sms_length_is_checked_with_the_longest_labels_of_the_taxonomy(settings):
    body = "Your {exposed_fields} leaked. Ref {reference}"
    for language in ("en", "fr"):
        assert worst_case_values(language)["exposed_fields"] == longest_sms_fields(language)
    # The old check assumed 120 characters, fewer than three long labels in French.
    assert len(longest_sms_fields("fr")) > 120
    settings.SMS_MAX_SEGMENTS = 1
    [error] = errors_for(body, channel="sms")
    assert "the limit is 1" in error
    segments = sms_segments(body.format_map(worst_case_values("fr")))
    assert f"{segments.segments} SMS segments" in error
    settings.SMS_MAX_SEGMENTS = segments.segments
    assert errors_for(body, channel="sms") == []


@pytest.mark.django_db
def test_sms_length_is_checked_in_the_templates_language(settings):
    for code in ("long_fr1", "long_fr2", "long_fr3"):
        DataClass.objects.create(
            code=code, label="X", label_fr="y" * 100, sensitivity=1, explanation="-"
        )
    clear_label_cache()
    settings.SMS_MAX_SEGMENTS = 2
    body = "{exposed_fields} " + REF
    assert errors_for(body, channel="sms", language="en") == []
    assert errors_for(body, channel="sms", language="fr") != []
    assert errors_for(body, channel="sms") != []


@pytest.mark.django_db
def test_a_name_outside_gsm7_is_the_worst_case(settings):
    """A first name such as "Łucja" sends the whole text as UCS-2: 67 a part."""
    settings.SMS_MAX_SEGMENTS = 2
    body = "Hi {first_name}, news about our data breach: {portal_url} Ref {reference}"
    [error] = errors_for(body, channel="sms")
    assert "3 SMS segments" in error  # 100 + 65 UCS-2 units: 3 parts of 67
    assert "UCS-2" in error and "GSM-7 alphabet" in error
    assert worst_case_values()["first_name"][0] == "\u0142"
    assert len(worst_case_values()["first_name"]) == 100
    # Without the name it is GSM-7 and fits one segment.
    assert errors_for(body.replace("{first_name}", "there"), channel="sms") == []


def test_sms_urls_count_at_their_real_length(settings):
    settings.SMS_MAX_SEGMENTS = 1
    body = "{reference} " + "x" * 120
    assert errors_for(body, channel="sms") == []
    assert errors_for(body + " {verify_url}", channel="sms") != []


@pytest.mark.django_db
def test_sms_length_error_names_the_character_forcing_ucs2(settings):
    settings.SMS_MAX_SEGMENTS = 3
    body = "We\u2019re sorry: your {exposed_fields} leaked. {portal_url} Ref {reference}"
    [error] = errors_for(body, channel="sms")
    assert "UCS-2" in error
    assert "\u2019" in error
    assert "\u0142" not in error
    assert errors_for(body.replace("\u2019", "'"), channel="sms") == []


def test_inapp_is_not_sized(settings):
    settings.SMS_MAX_SEGMENTS = 1
    assert errors_for("{exposed_fields} " * 5 + REF, channel="inapp") == []


def test_worst_case_incident_title_matches_the_model():
    assert WORST_CASE_LENGTHS["incident_title"] == Incident._meta.get_field("title").max_length


def test_worst_case_first_name_matches_the_model():
    from customers.models import Customer

    assert WORST_CASE_LENGTHS["first_name"] == Customer._meta.get_field("first_name").max_length


@pytest.mark.django_db
def test_worst_case_values_use_the_real_urls_and_taxonomy():
    for language in ("en", "fr"):
        values = worst_case_values(language)
        assert values["portal_url"] == "https://firsthand.example"
        assert values["verify_url"] == "https://firsthand.example/verify"
        assert len(values["first_name"]) == 100
        assert values["exposed_fields"] == longest_sms_fields(language)
        assert len(values["reference"]) == len("K7QM-3TXP-9HWC")


# --- Exposed fields ---------------------------------------------------------------


@pytest.mark.django_db
class TestExposedFields:
    def test_english_most_sensitive_first(self):
        text = exposed_fields_text(["phone", "passport_number", "date_of_birth"], "en")
        assert text == "passport number, date of birth and phone number"

    def test_french(self):
        text = exposed_fields_text(["phone", "passport_number", "date_of_birth"], "fr")
        assert text == "numéro de passeport, date de naissance et numéro de téléphone"

    def test_equal_sensitivity_is_ordered_by_code(self):
        # passport and licence card are both critical; name is low.
        text = exposed_fields_text(["name", "passport_number", "drivers_licence_card_number"], "en")
        assert text == "driver's licence card number, passport number and name"

    def test_one_and_two_fields(self):
        assert exposed_fields_text(["email"], "en") == "email address"
        assert exposed_fields_text(["email", "name"], "en") == "email address and name"
        assert exposed_fields_text(["email", "name"], "fr") == "adresse e-mail et nom"
        assert exposed_fields_text([], "en") == ""

    def test_acronyms_and_proper_nouns_keep_their_capitals(self):
        assert exposed_fields_text(["bank_account"], "en") == "bank account number (IBAN)"
        assert exposed_fields_text(["bank_account"], "fr") == "numéro de compte bancaire (IBAN)"
        assert exposed_fields_text(["medicare_number"], "en") == "Medicare (health card) number"

    def test_an_acronym_at_the_start_is_kept(self):
        DataClass.objects.create(
            code="sms_history",
            label="SMS history",
            label_fr="Historique SMS",
            sensitivity=1,
            explanation="-",
            explanation_fr="-",
        )
        assert exposed_fields_text(["sms_history"], "en") == "SMS history"
        assert exposed_fields_text(["sms_history"], "fr") == "historique SMS"

    def test_duplicates_once_and_unknown_codes_as_words(self):
        text = exposed_fields_text(["tax_file_number", "email", "email"], "en")
        assert text == "email address and tax file number"

    def test_labels_come_from_one_query_per_cache_period(self, django_assert_num_queries):
        with django_assert_num_queries(1):
            exposed_fields_text(["email"], "en")
            exposed_fields_text(["phone", "name"], "fr")
        with django_assert_num_queries(0):
            exposed_fields_text(["passport_number"], "en")

    def test_the_cache_expires_and_can_be_cleared(self, monkeypatch, django_assert_num_queries):
        exposed_fields_text(["email"], "en")
        DataClass.objects.filter(code="email").update(label="Email")
        assert exposed_fields_text(["email"], "en") == "email address"  # still cached
        clear_label_cache()
        assert exposed_fields_text(["email"], "en") == "email"
        monkeypatch.setattr(templating, "LABEL_CACHE_SECONDS", 0)
        clear_label_cache()
        exposed_fields_text(["email"], "en")
        with django_assert_num_queries(1):
            exposed_fields_text(["email"], "en")


# --- Rendering --------------------------------------------------------------------


def ctx(**kwargs) -> RenderContext:
    values = {
        "first_name": "Alice",
        "exposed_codes": ["phone", "passport_number", "date_of_birth"],
        "reference": "K7QM-3TXP-9HWC",
        "language": "en",
        "incident_title": "Customer data breach",
    }
    return RenderContext(**{**values, **kwargs})


@pytest.mark.django_db
class TestRender:
    def test_every_placeholder_in_english(self):
        body = (
            "Hi {first_name}, {incident_title} exposed your {exposed_fields}. {portal_url} "
            "Ref {reference} at {verify_url}, or call {support_phone}. {{literal}}"
        )
        assert render(body, ctx()) == (
            "Hi Alice, Customer data breach exposed your passport number, date of birth and "
            "phone number. https://firsthand.example Ref K7QM-3TXP-9HWC at "
            "https://firsthand.example/verify, or call 1800 123 456. {literal}"
        )

    def test_french(self):
        body = "Bonjour {first_name}, données exposées : {exposed_fields}."
        assert render(body, ctx(first_name="Zoé", language="fr")) == (
            "Bonjour Zoé, données exposées : numéro de passeport, date de naissance et "
            "numéro de téléphone."
        )

    @pytest.mark.parametrize("name", ["", "   ", "\t"])
    def test_without_a_first_name_the_greeting_drops_it(self, name):
        assert render("Hi {first_name}, ref {reference}", ctx(first_name=name)) == (
            "Hi, ref K7QM-3TXP-9HWC"
        )
        french = render("Bonjour {first_name},\n{reference}", ctx(first_name=name, language="fr"))
        assert french == "Bonjour,\nK7QM-3TXP-9HWC"
        assert render("Hi {first_name}! {reference}", ctx(first_name=name)) == "Hi! K7QM-3TXP-9HWC"

    def test_a_missing_name_leaves_escaped_braces_alone(self):
        body = "Hi {first_name}, write {{first_name}} here. {reference}"
        assert render(body, ctx(first_name="")) == "Hi, write {first_name} here. K7QM-3TXP-9HWC"

    def test_whitespace_in_a_name_is_tidied(self):
        assert render("Hi {first_name},", ctx(first_name="  Mary \n Ann ")) == "Hi Mary Ann,"

    def test_values_are_not_formatted_again(self):
        body = "Hi {first_name}, {reference}"
        assert render(body, ctx(first_name="{reference}")) == "Hi {reference}, K7QM-3TXP-9HWC"

    def test_urls_follow_the_settings(self, settings):
        settings.PORTAL_BASE_URL = "https://alerts.bank.example"
        assert render("{portal_url} {verify_url}", ctx()) == (
            "https://alerts.bank.example https://alerts.bank.example/verify"
        )

    def test_no_query_once_labels_are_cached(self, django_assert_num_queries):
        body = DEFAULT_TEMPLATES[("email", "en")]["body"]
        render(body, ctx())
        with django_assert_num_queries(0):
            for language in ("en", "fr"):
                for name in ("Alice", ""):
                    render(body, ctx(first_name=name, language=language))


# --- Default templates ------------------------------------------------------------

ALL_KEYS = [(c, lang) for c in ("sms", "email", "inapp", "push") for lang in ("en", "fr")]
PRODUCTION_LIKE = "https://firsthand.example.com"


def test_there_is_a_default_for_every_channel_and_language():
    assert sorted(DEFAULT_TEMPLATES) == sorted(ALL_KEYS)
    for template in DEFAULT_TEMPLATES.values():
        assert set(template) == {"subject", "body"}


@pytest.mark.django_db
@pytest.mark.parametrize("key", ALL_KEYS)
@pytest.mark.parametrize("base", ["http://localhost:8000", PRODUCTION_LIKE])
def test_every_default_template_is_valid(settings, key, base):
    settings.PORTAL_BASE_URL = base
    del settings.MESSAGE_LINK_HOSTS
    template = DEFAULT_TEMPLATES[key]
    for language in (key[1], None):
        assert (
            validate_template(
                template["body"], channel=key[0], subject=template["subject"], language=language
            )
            == []
        )


@pytest.mark.parametrize("key", ALL_KEYS)
def test_every_default_says_what_matters(key):
    body = DEFAULT_TEMPLATES[key]["body"]
    for placeholder in ("{exposed_fields}", "{portal_url}", "{reference}", "{verify_url}"):
        assert placeholder in body
    never = "never ask" if key[1] == "en" else "jamais de mot de passe"
    assert never in body
    assert ("password" if key[1] == "en" else "mot de passe") in body
    if key[0] != "sms":
        assert DEFAULT_TEMPLATES[key]["subject"]


# The SMS defaults stay GSM-7 and within SMS_MAX_SEGMENTS (4) with every data
# class of the taxonomy, up to these base-URL lengths.
SMS_BASE_URLS = {"en": "https://alerts.firsthand.co.uk", "fr": "https://firsthand.com.au"}


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "fr"])
def test_sms_defaults_fit_the_limit_at_the_longest(settings, language):
    body = DEFAULT_TEMPLATES[("sms", language)]["body"]
    for base in ("http://localhost:8000", SMS_BASE_URLS[language]):
        settings.PORTAL_BASE_URL = base
        segments = sms_segments(body.format_map(worst_case_values(language)))
        assert segments.encoding == "GSM-7", base
        assert segments.segments <= 4, (base, segments)


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "fr"])
def test_sms_defaults_read_well_without_a_name(language):
    body = DEFAULT_TEMPLATES[("sms", language)]["body"]
    text = render(body, ctx(first_name="", language=language))
    assert "  " not in text
    assert sms_segments(text).encoding == "GSM-7"
    assert "K7QM-3TXP-9HWC" in text
    assert "https://firsthand.example/verify" in text


@pytest.mark.django_db
@pytest.mark.parametrize("key", ALL_KEYS)
def test_defaults_render_with_and_without_a_name(key):
    template = DEFAULT_TEMPLATES[key]
    for name in ("Alice", ""):
        text = render(template["body"], ctx(first_name=name, language=key[1]))
        assert "{" not in text
        assert " ," not in text
        assert "passport" in text or "passeport" in text


# --- Subject length ---------------------------------------------------------------


def test_subject_limit_matches_the_columns():
    from notices.models import CampaignTemplate, Delivery, IncidentTemplate, TestSend

    for model in (Delivery, CampaignTemplate, IncidentTemplate, TestSend):
        assert model._meta.get_field("subject").max_length == templating.SUBJECT_MAX_LENGTH


@pytest.mark.django_db
def test_a_subject_too_long_at_its_longest_is_refused():
    # 100-character first name (the column's limit) + 120 characters of text.
    subject = "Hi {first_name}, " + "a" * 116
    [error] = errors_for(REF, channel="email", subject=subject)
    assert "Subject:" in error and "120 characters" not in error
    assert "the limit is 200" in error
    assert errors_for(REF, channel="email", subject="Hi {first_name}, " + "a" * 80) == []


@pytest.mark.django_db
def test_a_subject_with_the_incident_title_counts_its_full_length():
    assert errors_for(REF, channel="email", subject="{incident_title}") == []
    [error] = errors_for(REF, channel="email", subject="Update: {incident_title}")
    assert "208 characters" in error


@pytest.mark.django_db
def test_a_subject_with_every_data_class_is_measured_in_each_language():
    assert errors_for(REF, channel="email", subject="{exposed_fields}") != []
    DataClass.objects.all().delete()
    DataClass.objects.create(
        code="a", label="A" * 30, label_fr="B" * 60, sensitivity=1, explanation="-"
    )
    DataClass.objects.create(
        code="b", label="C" * 30, label_fr="D" * 60, sensitivity=1, explanation="-"
    )
    clear_label_cache()
    subject = "a" * 120 + "{exposed_fields}"  # 120 + 65 in English, 120 + 124 in French
    assert errors_for(REF, channel="email", subject=subject, language="en") == []
    [error] = errors_for(REF, channel="email", subject=subject, language="fr")
    assert "244 characters" in error
    assert errors_for(REF, channel="email", subject=subject) == [error]


@pytest.mark.django_db
def test_the_admin_form_refuses_a_subject_too_long():
    from notices.admin import TemplateForm
    from notices.models import CampaignTemplate

    class Form(TemplateForm):
        class Meta(TemplateForm.Meta):
            model = CampaignTemplate

    form = Form(
        data={
            "channel": "email",
            "language": "en",
            "subject": "{first_name} {first_name} {first_name}",
            "body": REF,
        }
    )
    assert not form.is_valid()
    assert "the limit is 200" in str(form.errors)


def test_cut_text_keeps_whole_characters():
    assert templating.cut_text("short", 10) == "short"
    assert templating.cut_text("abcdefghij", 10) == "abcdefghij"
    assert templating.cut_text("abcd efghijk", 10) == "abcd efgh…"
    # "é" written as e + combining accent is never split from its accent.
    text = "abcdefgh" + "e\u0301" + "xyz"
    cut = templating.cut_text(text, 10)
    assert cut == "abcdefgh…" and len(cut) <= 10
    # nor an emoji from its skin tone or a joined sequence
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    cut = templating.cut_text("abcdef" + family + "zzz", 10)
    assert cut == "abcdef…"
    assert templating.cut_text("abcdefgh   xyz", 10) == "abcdefgh…"


@pytest.mark.django_db
def test_a_rendered_subject_never_exceeds_the_column():
    subject = "{incident_title} {first_name}"
    text = templating.render_subject(subject, ctx(first_name="N" * 100, incident_title="T" * 200))
    assert len(text) == templating.SUBJECT_MAX_LENGTH
    assert text.endswith("…")
    assert templating.render_subject("", ctx()) == ""
    assert templating.render_subject("About {first_name}", ctx()) == "About Alice"


# --- Text messages that fit -----------------------------------------------------


@pytest.mark.django_db
class TestRenderSms:
    BODY = "Hi {first_name}, our breach exposed your {exposed_fields}. {portal_url} Ref {reference}"
    MANY = ["passport_number", "medicare_number", "drivers_licence_number", "phone", "email"]

    def test_a_text_that_fits_is_as_written(self, settings):
        text = templating.render_sms(self.BODY, ctx())
        assert text == render(self.BODY, ctx())

    def test_at_most_three_fields_are_named(self):
        text = templating.render_sms(self.BODY, ctx(exposed_codes=self.MANY))
        named = "passport number, driver's licence number, Medicare (health card) number"
        assert named + " and 2 other details" in text
        french = templating.render_sms(self.BODY, ctx(exposed_codes=self.MANY, language="fr"))
        assert "et 2 autres informations" in french

    def test_a_name_outside_gsm7_is_dropped_rather_than_sent_long(self, settings):
        settings.SMS_MAX_SEGMENTS = 1
        body = "Hi {first_name}, news about our data breach: {portal_url} Ref {reference}"
        name = "\u0141ucja " + "W" * 40
        assert sms_segments(render(body, ctx(first_name=name))).segments == 2
        text = templating.render_sms(body, ctx(first_name=name))
        assert text == render(body, ctx(first_name=""))
        assert sms_segments(text).segments == 1
        # with room for it, the name stays, UCS-2 or not
        settings.SMS_MAX_SEGMENTS = 2
        assert templating.render_sms(body, ctx(first_name="\u0141ucja")).startswith(
            "Hi \u0141ucja,"
        )

    def test_fewer_fields_are_named_then_the_short_form(self, settings):
        settings.SMS_MAX_SEGMENTS = 1
        body = "Your {exposed_fields} leaked. " + "x" * 80 + " Ref {reference}"
        text = templating.render_sms(body, ctx(exposed_codes=self.MANY))
        assert "passport number and 4 other details" in text
        assert sms_segments(text).segments == 1
        body = "Your {exposed_fields} leaked. " + "x" * 120 + " Ref {reference}"
        text = templating.render_sms(body, ctx(exposed_codes=self.MANY))
        assert text == templating.SHORT_SMS["en"].format(
            portal_url="https://firsthand.example",
            reference="K7QM-3TXP-9HWC",
            verify_url="https://firsthand.example/verify",
        )
        assert sms_segments(text).segments == 1
        french = templating.render_sms(body, ctx(exposed_codes=self.MANY, language="fr"))
        assert french.startswith("Fuite de données chez nous : https://firsthand.example")

    @pytest.mark.parametrize("language", ["en", "fr"])
    def test_the_short_forms_are_gsm7_and_carry_the_reference(self, language):
        assert (
            templating.validate_template(
                templating.SHORT_SMS[language], channel="sms", language=language
            )
            == []
        )
        text = templating.render_sms(templating.SHORT_SMS[language], ctx(language=language))
        assert sms_segments(text).encoding == "GSM-7"
        assert sms_segments(text).segments == 1


@pytest.mark.django_db
def test_a_push_too_big_at_its_longest_is_refused_at_save():
    # 700 "é" are 1,400 bytes; a 200-character title of 4-byte letters is 800 more.
    text = "é" * 700 + " {incident_title} {incident_title} {incident_title} {incident_title} " + REF
    [error] = errors_for(text, channel="push", subject="Data breach")
    assert "4096" in error and "bytes" in error
    assert errors_for("é" * 700 + " {incident_title} " + REF, channel="push") == []


@pytest.mark.django_db
def test_a_push_subject_counts_towards_its_size():
    body = "a" * 3600 + " " + REF
    assert errors_for(body, channel="push", subject="Data breach") == []
    assert errors_for(body, channel="push", subject="{first_name} {incident_title}") != []


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_default_push_templates_fit_at_their_longest(language):
    template = DEFAULT_TEMPLATES[("push", language)]
    assert errors_for(template["body"], channel="push", subject=template["subject"]) == []
