"""Bulk import: the same files and the same expected reports on SQLite (batched
inserts) and PostgreSQL (COPY and set-based SQL), whichever this run uses."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from customers.importers import ImportFailed, RowError, import_customers, import_exposures
from customers.importers import spec as s
from customers.masking import looks_masked, mask_value
from customers.models import Customer, Exposure
from tests.factories import CustomerFactory, IncidentFactory

pytestmark = pytest.mark.django_db


def csv_bytes(text: str) -> io.BytesIO:
    return io.BytesIO(text.encode("utf-8"))


GOOD_CUSTOMERS = """customer_ref,first_name,last_name,email,phone,is_current,preferred_language,preferred_channel
ab0001,Jane,Citizen,Jane@Example.com,0412 345 678,yes,fr,sms
AB0002,Sam,Smith,,+61 412 000 002,no,,
AB0003,Li,Wei,li@example.com,,,en,email
"""


def test_customers_are_imported_normalised():
    report = import_customers(csv_bytes(GOOD_CUSTOMERS))
    assert (report.inserted, report.updated, report.errors) == (3, 0, [])
    jane = Customer.objects.get(customer_ref="AB0001")
    assert (jane.email, jane.phone, jane.is_current) == ("jane@example.com", "+61412345678", True)
    assert (jane.preferred_language, jane.preferred_channel) == ("fr", "sms")
    sam = Customer.objects.get(customer_ref="AB0002")
    assert (sam.is_current, sam.preferred_language, sam.phone) == (False, "en", "+61412000002")


def test_importing_the_same_file_twice_changes_nothing():
    import_customers(csv_bytes(GOOD_CUSTOMERS))
    stamps = dict(Customer.objects.values_list("customer_ref", "updated_at"))
    again = import_customers(csv_bytes(GOOD_CUSTOMERS))
    assert (again.inserted, again.updated) == (0, 0)
    assert dict(Customer.objects.values_list("customer_ref", "updated_at")) == stamps


def test_a_changed_line_updates_only_the_columns_in_the_file():
    import_customers(csv_bytes(GOOD_CUSTOMERS))
    report = import_customers(csv_bytes("customer_ref,email\nAB0001,new@example.com\n"))
    assert (report.inserted, report.updated) == (0, 1)
    jane = Customer.objects.get(customer_ref="AB0001")
    assert (jane.email, jane.first_name, jane.phone) == ("new@example.com", "Jane", "+61412345678")


def test_a_contact_detail_the_file_changes_loses_its_proof_flags():
    import_customers(csv_bytes(GOOD_CUSTOMERS))
    proven = {"email_verified": True, "phone_verified": True}
    Customer.objects.filter(customer_ref="AB0001").update(**proven)
    Customer.objects.filter(customer_ref="AB0003").update(**proven, email_from_support=True)
    import_customers(
        csv_bytes(
            "customer_ref,email,phone\n"
            "AB0001,jane@example.com,+61412999999\n"  # same email, new phone
            "AB0003,li.wei@example.com,\n"  # new email
        )
    )
    jane = Customer.objects.get(customer_ref="AB0001")
    assert (jane.email_verified, jane.phone_verified) == (True, False)
    li = Customer.objects.get(customer_ref="AB0003")
    assert (li.email_verified, li.email_from_support, li.phone_verified) == (False, False, True)


def test_dates_of_birth_are_kept_only_as_keyed_hashes():
    from customers.hashing import birth_date_hash

    report = import_customers(
        csv_bytes("customer_ref,date_of_birth\nDB0001,1987-03-14\nDB0002,\nDB0003, 2000-02-29 \n")
    )
    assert (report.inserted, report.errors) == (3, [])
    hashes = dict(Customer.objects.values_list("customer_ref", "birth_date_hash"))
    # The SQL HMAC (PostgreSQL) and the Python one agree, and neither is the date.
    assert hashes == {
        "DB0001": birth_date_hash("1987-03-14"),
        "DB0002": "",
        "DB0003": birth_date_hash("2000-02-29"),
    }
    assert "1987" not in hashes["DB0001"]
    assert birth_date_hash("1987-03-14") != birth_date_hash("1987-03-15")


def test_the_birth_date_key_is_not_in_the_text_of_the_import_statements():
    """PostgreSQL logs a failing statement's text (a file naming a customer
    twice makes the first upsert fail) and a slow one's: the key's pads are
    handed over in a short statement of their own, never inlined in the upsert."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from customers.hashing import birth_date_hash, hmac_pads

    if connection.vendor != "postgresql":
        pytest.skip("the SQL HMAC runs on PostgreSQL")
    with CaptureQueriesContext(connection) as queries:
        report = import_customers(
            csv_bytes("customer_ref,date_of_birth\nDB0001,1987-03-14\nDB0001,1987-03-14\n"),
            skip_invalid=True,
        )
    assert report.inserted == 1 and len(report.errors) == 1  # the duplicate, retried
    assert Customer.objects.get().birth_date_hash == birth_date_hash("1987-03-14")
    ipad, opad = hmac_pads("birth_date")
    secrets = [ipad.hex(), opad.hex(), ipad.hex()[:16], opad.hex()[:16]]
    upserts = [q["sql"] for q in queries if "INSERT INTO customers_customer" in q["sql"]]
    assert len(upserts) == 2
    for sql in upserts:
        assert not any(secret in sql.lower() for secret in secrets)
        assert "\\x" not in sql  # no bytea literal at all


@pytest.mark.parametrize(
    "raw", ["2023-02-29", "1987-13-01", "87-03-14", "1987/03/14", "14-03-1987", "1800-01-01"]
)
def test_impossible_dates_of_birth_are_reported(raw):
    with pytest.raises(ImportFailed) as excinfo:
        import_customers(csv_bytes(f"customer_ref,date_of_birth\nDB0001,{raw}\n"))
    assert excinfo.value.report.errors == [RowError(2, "date_of_birth", s.MALFORMED_BIRTH_DATE)]
    assert not Customer.objects.exists()


@pytest.mark.parametrize("phone", ["012345678901234", "(01) 2345 6789 0123 4"])
def test_a_phone_that_does_not_fit_e164_is_malformed_on_each_backend(phone):
    # 15 national digits read in Australia (+61) make 16: too long for E.164 and
    # for the phone column (PostgreSQL refused the whole import with an error).
    with pytest.raises(ImportFailed) as excinfo:
        import_customers(csv_bytes(f"customer_ref,phone\nPH0001,{phone}\nPH0002,0412345678\n"))
    assert excinfo.value.report.errors == [RowError(2, "phone", s.MALFORMED_PHONE)]
    report = import_customers(
        csv_bytes(f"customer_ref,phone\nPH0001,{phone}\nPH0002,0412345678\n"), skip_invalid=True
    )
    assert dict(Customer.objects.values_list("customer_ref", "phone")) == {"PH0002": "+61412345678"}
    assert report.inserted == 1


def test_white_space_is_read_alike_on_each_backend():
    # Python's strip() took tabs and no-break spaces off where SQL's trim() takes
    # only spaces, and a regular expression's \\s matched them in Python only.
    text = (
        "customer_ref,first_name,email,phone,is_current\n"
        "WS0001\t,Ann,,,\n"
        "WS0002,Bea,b\u00a0b@example.com,,\n"
        "WS0003,Cy,c@example.com\t,,\n"
        "WS0004,Di,,,yes\u00a0\n"
        "WS0005, Ed\t,,04\u202f12\u202f34\u202f56\u202f78,\n"
    )
    report = import_customers(csv_bytes(text), skip_invalid=True)
    assert sorted(report.errors) == [
        RowError(2, "customer_ref", s.MALFORMED_REF),
        RowError(3, "email", s.MALFORMED_EMAIL),
        RowError(4, "email", s.MALFORMED_EMAIL),
        RowError(5, "is_current", s.NOT_A_BOOLEAN),
    ]
    ed = Customer.objects.get()
    assert (ed.first_name, ed.phone) == ("Ed\t", "+61412345678")


def test_a_reference_is_upper_cased_one_character_for_one_on_each_backend():
    # Python's upper() made "ß" "SS", a well-formed reference that SQL refused.
    with pytest.raises(ImportFailed) as excinfo:
        import_customers(csv_bytes("customer_ref\nstra\u00dfe1\nfi\ufb01\n"))
    assert excinfo.value.report.errors == [
        RowError(2, "customer_ref", s.MALFORMED_REF),
        RowError(3, "customer_ref", s.MALFORMED_REF),
    ]


@pytest.mark.parametrize(
    "email",
    [
        "jane@example..com",
        "jane@example.com.",
        "jane@.example.com",
        ".jane@example.com",
        "jane..doe@example.com",
        "jane,doe@example.com",
        "Jane <jane@example.com>",
        "jane@example.com;",
    ],
)
def test_an_email_with_an_empty_part_or_a_list_separator_is_malformed(email):
    text = f'customer_ref,email\nEM0001,"{email}"\nEM0002,jane.doe+news@mail.example.com.au\n'
    with pytest.raises(ImportFailed) as excinfo:
        import_customers(csv_bytes(text))
    assert excinfo.value.report.errors == [RowError(2, "email", s.MALFORMED_EMAIL)]


def test_spaces_are_what_python_calls_white_space():
    import sys

    assert "".join(c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace()) == s.SPACES


def test_a_national_number_is_refused_where_0_is_not_the_trunk_prefix(settings):
    # In Italy the 0 of 06 belongs to the number: dropping it stored +39 6…,
    # someone else's number.
    settings.PHONE_DEFAULT_REGION = "IT"
    text = "customer_ref,phone\nIT0001,06 1234 5678\nIT0002,+39 06 1234 5678\n"
    report = import_customers(csv_bytes(text), skip_invalid=True)
    assert report.errors == [RowError(2, "phone", s.MALFORMED_PHONE)]
    assert Customer.objects.get().phone == "+390612345678"


def test_padded_fields_are_measured_trimmed_on_each_backend():
    # " fr" and "  yes  " were oversized: the length was taken before the trim.
    text = (
        "customer_ref,first_name,is_current,preferred_language,preferred_channel\n"
        f"{' ' * 20}{'P' * 32} ,{' ' * 5}{'Ann' * 33} ,  yes  , fr ,  email  \n"
    )
    report = import_customers(csv_bytes(text))
    assert (report.inserted, report.errors) == (1, [])
    ann = Customer.objects.get()
    assert (ann.customer_ref, ann.first_name) == ("P" * 32, "Ann" * 33)
    assert (ann.is_current, ann.preferred_language, ann.preferred_channel) == (True, "fr", "email")


@pytest.mark.parametrize("column", ["preferred_language", "first_name", "customer_ref"])
def test_a_field_padded_past_the_raw_limit_is_oversized_on_each_backend(column):
    value = " " * s.RAW_FIELD_MAX + "fr"
    if column == "customer_ref":
        text = f"customer_ref\n{value}\n"
    else:
        text = f"customer_ref,{column}\nPA0001,{value}\n"
    with pytest.raises(ImportFailed) as excinfo:
        import_customers(csv_bytes(text))
    assert excinfo.value.report.errors == [RowError(2, column, s.OVERSIZED)]


BAD_CUSTOMERS = (
    b"customer_ref,first_name,email,phone,is_current,preferred_language,preferred_channel\n"
    b"OK0001,Ann,ann@example.com,,,,\n"
    b",NoRef,,,,,\n"
    b"OK0002,Bob,not-an-email,,,,\n"
    b"OK0003,Cy,,12ab,,,\n"
    b"OK0004,Di,,,maybe,,\n"
    b"OK0005,Ed,,,,de,\n"
    b"OK0006,Fi,,,,,fax\n"
    b"OK0007," + b"X" * 101 + b",,,,,\n"
    b"OK0008,\xff\xfeBroken,,,,,\n"
    b"OK0009,Too,many,,,,,,\n"
    b"bad ref!,Gus,,,,,\n"
    b"OK0001,Ann again,,,,,\n"
)

EXPECTED_BAD_CUSTOMERS = [
    RowError(3, "customer_ref", s.MISSING_REF),
    RowError(4, "email", s.MALFORMED_EMAIL),
    RowError(5, "phone", s.MALFORMED_PHONE),
    RowError(6, "is_current", s.NOT_A_BOOLEAN),
    RowError(7, "preferred_language", s.UNKNOWN_LANGUAGE),
    RowError(8, "preferred_channel", s.UNKNOWN_CHANNEL),
    RowError(9, "first_name", s.OVERSIZED),
    RowError(10, "", s.WRONG_ENCODING),
    RowError(11, "", s.WRONG_COLUMN_COUNT),
    RowError(12, "customer_ref", s.MALFORMED_REF),
    RowError(13, "customer_ref", s.DUPLICATE_ROW),
]


def test_every_bad_customer_line_is_reported_and_nothing_is_written():
    with pytest.raises(ImportFailed) as excinfo:
        import_customers(io.BytesIO(BAD_CUSTOMERS))
    assert sorted(excinfo.value.report.errors) == EXPECTED_BAD_CUSTOMERS
    assert Customer.objects.count() == 0


def test_skip_invalid_imports_the_valid_lines():
    report = import_customers(io.BytesIO(BAD_CUSTOMERS), skip_invalid=True)
    assert sorted(report.errors) == EXPECTED_BAD_CUSTOMERS
    assert list(Customer.objects.values_list("customer_ref", flat=True)) == ["OK0001"]
    assert report.inserted == 1


def test_a_second_line_for_a_customer_is_a_duplicate_on_a_reimport_too():
    # On PostgreSQL the upsert skipped, without an error, a second line for a
    # row the first left unchanged, and so took the second line's values.
    import_customers(csv_bytes("customer_ref,first_name\nDU0001,Ann\n"))
    with pytest.raises(ImportFailed) as excinfo:
        import_customers(csv_bytes("customer_ref,first_name\nDU0001,Ann\ndu0001,Bob\n"))
    assert excinfo.value.report.errors == [RowError(3, "customer_ref", s.DUPLICATE_ROW)]
    assert Customer.objects.get().first_name == "Ann"


def test_a_file_of_references_only_reports_its_duplicates():
    # Nothing to update, so no conflict ever raised on PostgreSQL.
    with pytest.raises(ImportFailed) as excinfo:
        import_customers(csv_bytes("customer_ref\nDU0001\n du0001\n"))
    assert excinfo.value.report.errors == [RowError(3, "customer_ref", s.DUPLICATE_ROW)]
    assert not Customer.objects.exists()


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("header, name", [("customer_ref", ""), ("customer_ref,first_name", ",A")])
def test_blank_lines_are_skipped_on_each_backend(header, name, newline):
    # A file of references only: COPY read a blank line as an empty reference.
    text = newline.join([header, f"BL0001{name}", "", f"BL0002{name}", "", ""])
    report = import_customers(csv_bytes(text))
    assert (report.inserted, report.errors) == (2, [])


def test_unknown_and_missing_columns_are_refused():
    with pytest.raises(ImportFailed) as excinfo:
        import_customers(csv_bytes("ref,first_name,shoe_size\nA,B,C\n"))
    assert sorted(excinfo.value.report.errors) == [
        RowError(1, "customer_ref", s.MISSING_COLUMN),
        RowError(1, "ref", s.UNKNOWN_COLUMN),
        RowError(1, "shoe_size", s.UNKNOWN_COLUMN),
    ]


@pytest.mark.parametrize("text", ["", "\n", 'FH0001,"passport_number=PA1234567;email=j@x.com"\n'])
def test_a_file_without_a_header_is_refused_without_repeating_its_first_line(text):
    with pytest.raises(ImportFailed) as excinfo:
        import_customers(csv_bytes(text))
    assert excinfo.value.report.errors == [RowError(1, "", s.NO_HEADER)]


@pytest.mark.parametrize(
    "text, line",
    [
        ("customer_ref,email\rAB0001,a@example.com\rAB0002,b@example.com\r", 1),
        ("customer_ref,email\nAB0001,a@example.com\rAB0002,b@example.com\r", 2),
    ],
)
def test_carriage_returns_without_line_feeds_are_reported(text, line):
    with pytest.raises(ImportFailed) as excinfo:
        import_customers(csv_bytes(text))
    assert excinfo.value.report.errors == [RowError(line, "", s.LONE_CARRIAGE_RETURN)]
    assert not Customer.objects.exists()


UNCLOSED_QUOTE = 'customer_ref,first_name\nAB0001,"abc\nAB0002,Bob\nAB0003,Carl\n'


def test_a_quote_left_open_is_reported_on_its_line_and_takes_no_other_line():
    with pytest.raises(ImportFailed) as excinfo:
        import_customers(csv_bytes(UNCLOSED_QUOTE))
    assert excinfo.value.report.errors == [RowError(2, "", s.UNCLOSED_QUOTE)]
    assert not Customer.objects.exists()
    report = import_customers(csv_bytes(UNCLOSED_QUOTE), skip_invalid=True)
    assert dict(Customer.objects.values_list("customer_ref", "first_name")) == {
        "AB0002": "Bob",
        "AB0003": "Carl",
    }
    assert (report.inserted, report.errors) == (2, [RowError(2, "", s.UNCLOSED_QUOTE)])


def test_records_that_copy_would_run_across_lines_are_reported_on_each_backend():
    # On PostgreSQL COPY takes each of these files without an error: a stray quote
    # closed by the next one joins lines 2-4 into a first name; "\." ends the data.
    text = (
        "customer_ref,first_name\n"
        'AB0001,"abc\nAB0002,Bob\nAB0003,"\nAB0004,Dan\n'
        "\\.\nAB0005,Eve\n"
        'AB0006,"Fay"x\n'
    )
    with pytest.raises(ImportFailed) as excinfo:
        import_customers(csv_bytes(text))
    assert sorted(excinfo.value.report.errors) == [
        RowError(2, "", s.UNCLOSED_QUOTE),
        RowError(4, "", s.UNCLOSED_QUOTE),
        RowError(6, "", s.WRONG_COLUMN_COUNT),
        RowError(8, "", s.MALFORMED_CSV),
    ]
    import_customers(csv_bytes(text), skip_invalid=True)
    assert dict(Customer.objects.values_list("customer_ref", "first_name")) == {
        "AB0002": "Bob",
        "AB0004": "Dan",
        "AB0005": "Eve",
    }


@pytest.mark.parametrize("field", ['"Fay"x', '""x', '"Fay" '])
def test_text_after_a_closing_quote_is_malformed_on_each_backend(field):
    # Alone in a file, where nothing else sends COPY's reading to the careful one.
    text = f"customer_ref,first_name\nAB0001,Ann\nAB0002,{field}\n"
    with pytest.raises(ImportFailed) as excinfo:
        import_customers(csv_bytes(text))
    assert excinfo.value.report.errors == [RowError(3, "", s.MALFORMED_CSV)]
    assert not Customer.objects.exists()


def test_a_quote_inside_an_unquoted_field_is_read_alike_on_each_backend():
    # COPY took these quotes for the start of a quoted part: "Jo,x" for the first
    # line (four fields to the careful reader) and "Jo" for the second.
    text = (
        "customer_ref,first_name,last_name\n"
        'QU0001,Jo",x",y\n'
        'QU0002,Jo"",y\n'
        'QU0003,"O""Brien","a, b"\n'
    )
    report = import_customers(csv_bytes(text), skip_invalid=True)
    assert report.errors == [RowError(2, "", s.WRONG_COLUMN_COUNT)]
    assert dict(Customer.objects.values_list("customer_ref", "first_name")) == {
        "QU0002": 'Jo""',
        "QU0003": 'O"Brien',
    }


@pytest.mark.postgres
def test_on_postgresql_quoted_fields_across_blocks_keep_the_file_on_copy(monkeypatch):
    from customers.importers import postgres

    def careful_rows(*args, **kwargs):
        raise AssertionError("read line by line")

    monkeypatch.setattr(postgres, "careful_rows", careful_rows)
    lines = [f'QU{n:06d},"O""Brien, {n}","a, b"\r\n' for n in range(70_000)]
    text = "customer_ref,first_name,last_name\r\n" + "".join(lines)
    assert len(text) > 2 * (1 << 20)
    report = import_customers(csv_bytes(text + 'QU999999,"Ann",Lee'))
    assert (report.inserted, report.errors) == (70_001, [])


@pytest.mark.parametrize("second", ["{h}\n", "\ufeff{h}\r\n"])
def test_a_repeated_header_row_is_reported_on_each_backend(second):
    # Two files joined: the second header was imported as customer "CUSTOMER_REF".
    header = "customer_ref,first_name,last_name"
    text = f"{header}\nAB0001,Ann,Lee\n" + second.format(h=header) + "AB0002,Bo,Ng"
    with pytest.raises(ImportFailed) as excinfo:
        import_customers(csv_bytes(text))
    assert excinfo.value.report.errors == [RowError(3, "", s.REPEATED_HEADER)]
    report = import_customers(csv_bytes(text), skip_invalid=True)
    assert report.inserted == 2
    assert sorted(Customer.objects.values_list("customer_ref", flat=True)) == ["AB0001", "AB0002"]


def test_a_repeated_header_row_is_its_only_error_in_an_exposures_file(incident_and_customers):
    text = "customer_ref,exposed\nEX0001,passport_number=PA1\ncustomer_ref,exposed\n"
    with pytest.raises(ImportFailed) as excinfo:
        import_exposures(csv_bytes(text), incident=incident_and_customers)
    assert excinfo.value.report.errors == [RowError(3, "", s.REPEATED_HEADER)]


@pytest.mark.postgres
@pytest.mark.parametrize("offset", range(12))
def test_on_postgresql_a_header_repeated_across_blocks_is_found(monkeypatch, offset):
    from customers.importers import postgres, reading

    monkeypatch.setattr(reading, "BLOCK", 16)
    monkeypatch.setattr(postgres, "BLOCK", 16)
    text = "customer_ref\n" + "x" * offset + "\nAB0001\ncustomer_ref\nAB0002\n"
    report = import_customers(csv_bytes(text), skip_invalid=True)
    assert RowError(4, "", s.REPEATED_HEADER) in report.errors
    assert not Customer.objects.filter(customer_ref="CUSTOMER_REF").exists()


def test_a_quoted_field_cannot_hold_a_line_break():
    with pytest.raises(ImportFailed) as excinfo:
        import_customers(csv_bytes('customer_ref,first_name\nAB0001,"Ann\nMarie"\n'))
    assert excinfo.value.report.errors == [
        RowError(2, "", s.UNCLOSED_QUOTE),
        RowError(3, "", s.WRONG_COLUMN_COUNT),
    ]


def test_a_field_over_the_csv_modules_limit_is_oversized_in_its_column():
    import csv

    limit = csv.field_size_limit()
    text = "customer_ref,first_name,email\nAB0001," + "x" * 200_000 + ",not-an-email\n"
    with pytest.raises(ImportFailed) as excinfo:
        import_customers(csv_bytes(text))
    assert sorted(excinfo.value.report.errors) == [
        RowError(2, "email", s.MALFORMED_EMAIL),
        RowError(2, "first_name", s.OVERSIZED),
    ]
    assert csv.field_size_limit() == limit


def test_a_nul_character_is_the_wrong_encoding_on_each_backend():
    with pytest.raises(ImportFailed) as excinfo:
        import_customers(csv_bytes("customer_ref,first_name\nAB0001,An\x00n\nAB0002,Bob\n"))
    assert excinfo.value.report.errors == [RowError(2, "", s.WRONG_ENCODING)]


@pytest.fixture
def incident_and_customers():
    incident = IncidentFactory(slug="breach")
    for ref in ("EX0001", "EX0002", "EX0003", "EX0004"):
        CustomerFactory(customer_ref=ref)
    return incident


def test_exposures_are_imported_with_raw_values_masked(incident_and_customers):
    text = (
        "customer_ref,exposed\n"
        'EX0001,"passport_number=PA1234567;date_of_birth=1987-03-14;email=jane@example.com"\n'
        "ex0002,drivers_licence_number=•••• 4312\n"
        'EX0003,"name=Sam Smith;address=12 George St, Sydney NSW 2000;phone=+61 412 345 321"\n'
    )
    report = import_exposures(csv_bytes(text), incident=incident_and_customers)
    assert (report.inserted, report.errors) == (3, [])
    fields = {
        e.customer.customer_ref: e.fields for e in Exposure.objects.select_related("customer")
    }
    assert fields["EX0001"] == {
        "passport_number": "•••• 567",
        "date_of_birth": "••/••/1987",
        "email": "j•••@example.com",
    }
    assert fields["EX0002"] == {"drivers_licence_number": "•••• 4312"}
    assert fields["EX0003"] == {
        "name": "S••• S•••",
        "address": "•••, Sydney NSW 2000",
        "phone": "•••• ••• 321",
    }
    stored = " ".join(v for f in fields.values() for v in f.values())
    assert "PA1234567" not in stored and "George" not in stored
    assert all(looks_masked(v) for f in fields.values() for v in f.values())


@pytest.mark.parametrize("code", ["security_questions", "auth_tokens", "password_hash"])
def test_secrets_are_masked_whole(incident_and_customers, code):
    # The identity-number rule kept the last four characters: "•••• nson".
    import_exposures(
        csv_bytes(f"customer_ref,exposed\nEX0001,{code}=Johnson\n"), incident=incident_and_customers
    )
    assert Exposure.objects.get().fields == {code: "••••••••"}


def test_sql_and_python_masking_agree(incident_and_customers):
    # White space beyond the space, and digits beyond 0-9, as Python reads them.
    samples = {
        "passport_number": ["PA 123-4567", "12345", "PA\u00a0123\t4567", "1234567", "N1234567"],
        "drivers_licence_number": ["123456", "AB-12-3456", "12345678901", "AB123456789012"],
        "email": [" Jane.Doe@Example.COM ", "nodomain", "\tjane@example.com\u00a0"],
        "phone": ["+61 (412) 345-321", "123", "0412 345 \u0663\u0662\u0661"],
        "date_of_birth": ["14/03/1987", "unknown", "14/03/19\u0668\u0667"],
        "name": ["  Jane   Q  Citizen ", "\tJane\u00a0Q\u2003Citizen\u202f"],  # "" is malformed
        "address": ["1 King St,, Perth WA 6000, ", "No commas here", "1 King St,\u00a0Perth\t"],
        "password_hash": ["pbkdf2$xyz"],
        "security_questions": ["Mother's maiden name: Johnson"],
        "auth_tokens": ["eyJhbGciOiJIUzI1NiJ9.abc.def"],
    }
    for code, values in samples.items():
        for index, raw in enumerate(values):
            ref = f"EX000{index % 4 + 1}"
            Exposure.objects.filter(customer__customer_ref=ref).delete()
            import_exposures(
                csv_bytes(f'customer_ref,exposed\n{ref},"{code}={raw}"\n'),
                incident=incident_and_customers,
            )
            stored = Exposure.objects.get(customer__customer_ref=ref).fields[code]
            assert stored == mask_value(code, raw), (code, raw)


def test_a_masked_value_with_white_space_around_it_is_stored_trimmed_on_each_backend(
    incident_and_customers,
):
    text = (
        "customer_ref,exposed\n"
        'EX0001,"passport_number= \u2022\u2022\u2022\u2022 4567\u00a0"\n'
        'EX0002,"passport_number=\t\u2022\u2022\u2022\u2022 4567 ;name=PA1234567"\n'
    )
    import_exposures(csv_bytes(text), incident=incident_and_customers)
    fields = {
        e.customer.customer_ref: e.fields for e in Exposure.objects.select_related("customer")
    }
    assert fields["EX0001"]["passport_number"] == "\u2022\u2022\u2022\u2022 4567"
    assert fields["EX0002"]["passport_number"] == "\u2022\u2022\u2022\u2022 4567"


BAD_EXPOSURES = (
    "customer_ref,exposed\n"
    "EX0001,passport_number=PA1\n"
    "NOBODY,passport_number=PA2\n"
    "EX0002,shoe_size=44\n"
    "EX0003,passport_number\n"
    "EX0004,\n"
    ',"email=a@b.example"\n'
    'EX0002,"email=x@example.com;email=y@example.com"\n'
    "EX0003,name=" + "x" * 201 + "\n"
    "EX0001,passport_number=PA9\n"
)
EXPECTED_BAD_EXPOSURES = [
    RowError(3, "customer_ref", s.UNKNOWN_CUSTOMER),
    RowError(4, "exposed", s.UNKNOWN_DATA_CLASS),
    RowError(5, "exposed", s.MALFORMED_EXPOSED),
    RowError(6, "exposed", s.NOTHING_EXPOSED),
    RowError(7, "customer_ref", s.MISSING_REF),
    RowError(8, "exposed", s.REPEATED_DATA_CLASS),
    RowError(9, "exposed", s.OVERSIZED),
    RowError(10, "customer_ref", s.DUPLICATE_ROW),
]


def test_every_bad_exposure_line_is_reported(incident_and_customers):
    with pytest.raises(ImportFailed) as excinfo:
        import_exposures(csv_bytes(BAD_EXPOSURES), incident=incident_and_customers)
    assert sorted(excinfo.value.report.errors) == EXPECTED_BAD_EXPOSURES
    assert not Exposure.objects.exists()
    report = import_exposures(
        csv_bytes(BAD_EXPOSURES), incident=incident_and_customers, skip_invalid=True
    )
    assert sorted(report.errors) == EXPECTED_BAD_EXPOSURES
    assert list(Exposure.objects.values_list("customer__customer_ref", flat=True)) == ["EX0001"]


def test_a_long_part_without_a_value_is_only_malformed_on_each_backend(incident_and_customers):
    with pytest.raises(ImportFailed) as excinfo:
        import_exposures(
            csv_bytes("customer_ref,exposed\nEX0001,passport_number" + "x" * 201 + "\n"),
            incident=incident_and_customers,
        )
    assert excinfo.value.report.errors == [RowError(2, "exposed", s.MALFORMED_EXPOSED)]


@pytest.mark.parametrize(
    "exposed",
    [
        "passport_number=",
        "passport_number= \u00a0\t",
        '"email=j@example.com;passport_number="',
        "passport_number=" + " " * 201,
    ],
)
def test_an_empty_exposed_value_is_malformed_on_each_backend(incident_and_customers, exposed):
    # It was stored as the mask of nothing, "••••", as if a value had been exposed.
    with pytest.raises(ImportFailed) as excinfo:
        import_exposures(
            csv_bytes(f"customer_ref,exposed\nEX0001,{exposed}\n"), incident=incident_and_customers
        )
    assert excinfo.value.report.errors == [RowError(2, "exposed", s.MALFORMED_EXPOSED)]
    assert not Exposure.objects.exists()


@pytest.mark.parametrize("ref", ["N" * 33, " " * s.RAW_FIELD_MAX + "NOBODY"])
def test_a_reference_too_long_is_only_oversized_on_each_backend(incident_and_customers, ref):
    with pytest.raises(ImportFailed) as excinfo:
        import_exposures(
            csv_bytes(f"customer_ref,exposed\n{ref},passport_number=PA1\n"),
            incident=incident_and_customers,
        )
    assert excinfo.value.report.errors == [RowError(2, "customer_ref", s.OVERSIZED)]


def test_a_padded_reference_is_measured_trimmed_in_an_exposures_file(incident_and_customers):
    # It was oversized when its spaces took it over 32 characters.
    text = "customer_ref,exposed\n" + " " * 30 + "EX0001  ,passport_number=PA1234567\n"
    report = import_exposures(csv_bytes(text), incident=incident_and_customers)
    assert (report.inserted, report.errors) == (1, [])


def test_an_exposures_file_without_its_exposed_column_is_refused_at_the_header(
    incident_and_customers,
):
    with pytest.raises(ImportFailed) as excinfo:
        import_exposures(
            csv_bytes("customer_ref\nEX0001\nEX0002\n"), incident=incident_and_customers
        )
    assert excinfo.value.report.errors == [RowError(1, "exposed", s.MISSING_COLUMN)]


def test_reimporting_exposures_changes_nothing_and_updates_what_changed(incident_and_customers):
    text = "customer_ref,exposed\nEX0001,passport_number=PA1234567\nEX0002,email=a@example.com\n"
    import_exposures(csv_bytes(text), incident=incident_and_customers)
    again = import_exposures(csv_bytes(text), incident=incident_and_customers)
    assert (again.inserted, again.updated) == (0, 0)
    changed = text.replace("PA1234567", "PA7654321")
    report = import_exposures(csv_bytes(changed), incident=incident_and_customers)
    assert (report.inserted, report.updated) == (0, 1)


def test_a_second_line_for_a_customer_is_a_duplicate_when_exposures_are_reimported(
    incident_and_customers,
):
    first = "customer_ref,exposed\nEX0001,passport_number=PA1234567\n"
    import_exposures(csv_bytes(first), incident=incident_and_customers)
    with pytest.raises(ImportFailed) as excinfo:
        import_exposures(
            csv_bytes(first + "EX0001,passport_number=PA7654321\n"),
            incident=incident_and_customers,
        )
    assert excinfo.value.report.errors == [RowError(3, "customer_ref", s.DUPLICATE_ROW)]
    assert Exposure.objects.get().fields == {"passport_number": "•••• 567"}


def test_report_csv_names_line_column_and_reason_without_values(incident_and_customers):
    with pytest.raises(ImportFailed) as excinfo:
        import_exposures(csv_bytes(BAD_EXPOSURES), incident=incident_and_customers)
    out = io.StringIO()
    excinfo.value.report.write_csv(out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "line,column,reason"
    assert "3,customer_ref,unknown customer" in lines
    assert "PA2" not in out.getvalue() and "NOBODY" not in out.getvalue()


@pytest.mark.parametrize("name", ['=hyperlink("http://x.example")', "+1+1", "-2+3", "@sum(a1)"])
def test_a_formula_echoed_from_the_header_is_neutralised_in_the_report(name):
    # Staff open reports in a spreadsheet: an unknown column's name went in as is.
    with pytest.raises(ImportFailed) as excinfo:
        import_customers(csv_bytes(f"customer_ref,{name}\nAB0001,x\n"))
    assert excinfo.value.report.errors == [RowError(1, name, s.UNKNOWN_COLUMN)]
    out = io.StringIO()
    excinfo.value.report.write_csv(out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows == [["line", "column", "reason"], ["1", "'" + name, s.UNKNOWN_COLUMN]]


def test_commands_write_a_report_and_fail_cleanly(tmp_path: Path, incident_and_customers):
    good = tmp_path / "customers.csv"
    good.write_text(GOOD_CUSTOMERS)
    out = io.StringIO()
    call_command("import_customers", str(good), stdout=out)
    assert "3 new" in out.getvalue()

    bad = tmp_path / "exposures.csv"
    bad.write_text(BAD_EXPOSURES)
    with pytest.raises(CommandError, match="8 line"):
        call_command("import_exposures", str(bad), "--incident", "breach", stdout=io.StringIO())
    report = (tmp_path / "exposures.csv.report.csv").read_text()
    assert "duplicate row" in report
    with pytest.raises(CommandError, match="No incident"):
        call_command("import_exposures", str(bad), "--incident", "nope")
    with pytest.raises(CommandError, match="No such file"):
        call_command("import_customers", str(tmp_path / "missing.csv"))


def test_a_run_replaces_the_report_of_an_earlier_run(tmp_path: Path, monkeypatch):
    # An earlier run's errors stayed in FILE.report.csv after a clean run.
    good = tmp_path / "customers.csv"
    good.write_text(GOOD_CUSTOMERS)
    stale = tmp_path / "customers.csv.report.csv"
    stale.write_text("line,column,reason\r\n3,email,malformed email\r\n")
    out = io.StringIO()
    call_command("import_customers", str(good), stdout=out)
    assert stale.read_text() == "line,column,reason\n"
    assert f"No line rejected; report (header only): {stale}" in out.getvalue()

    # A run stopped by an unexpected error leaves no report at all.
    stale.write_text("line,column,reason\r\n3,email,malformed email\r\n")
    from customers.management.commands import import_customers as command

    def broken(*args, **kwargs):
        raise RuntimeError("database gone")

    monkeypatch.setattr(command, "import_customers", broken)
    with pytest.raises(RuntimeError):
        call_command("import_customers", str(good), stdout=io.StringIO())
    assert not stale.exists()


def test_a_report_cannot_overwrite_the_imported_file(tmp_path: Path):
    good = tmp_path / "customers.csv"
    good.write_text(GOOD_CUSTOMERS)
    with pytest.raises(CommandError, match="would overwrite"):
        call_command("import_customers", str(good), "--report", str(good))
    assert good.read_text() == GOOD_CUSTOMERS


@pytest.mark.parametrize("where", ["missing-folder/report.csv", "."])
def test_a_report_that_cannot_be_written_is_refused_before_importing(tmp_path: Path, where):
    bad = tmp_path / "customers.csv"
    bad.write_bytes(BAD_CUSTOMERS)
    report = tmp_path / where
    with pytest.raises(CommandError, match="Cannot write the report"):
        call_command(
            "import_customers",
            str(bad),
            "--skip-invalid",
            "--report",
            str(report),
            stdout=io.StringIO(),
        )
    assert not Customer.objects.exists()


@pytest.mark.postgres
def test_on_postgresql_a_line_copy_refuses_is_not_quoted_in_the_servers_log(
    monkeypatch, incident_and_customers
):
    # The error of a refused COPY quotes the line (raw identifiers and all) in
    # its context, which the server writes to its own log unless errors are terse.
    from django.db import connection

    from customers.importers import postgres

    seen = []
    copy_csv = postgres._copy_csv

    def watched(cursor, *args, **kwargs):
        cursor.execute("SELECT current_setting('log_error_verbosity')")
        seen.append(cursor.fetchone()[0])
        return copy_csv(cursor, *args, **kwargs)

    monkeypatch.setattr(postgres, "_copy_csv", watched)
    text = "customer_ref,exposed\nEX0001,passport_number=PA1234821,extra\n"
    with pytest.raises(ImportFailed):
        import_exposures(csv_bytes(text), incident=incident_and_customers)
    assert seen == ["terse"]
    with connection.cursor() as cursor:  # SET LOCAL: only for the import's transaction
        cursor.execute("SELECT current_setting('log_error_verbosity')")
        assert cursor.fetchone()[0] == "default"


@pytest.mark.postgres
def test_on_postgresql_a_role_that_may_not_quiet_the_log_still_imports_and_says_so(caplog):
    from django.db import connection, transaction

    from customers.importers import postgres

    with connection.cursor() as cursor:
        cursor.execute(
            "DO $$ BEGIN CREATE ROLE firsthand_test_plain NOLOGIN; "
            "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
        )
        with transaction.atomic():
            cursor.execute("SET LOCAL ROLE firsthand_test_plain")
            assert postgres._keep_lines_out_of_server_log(cursor) is False
            cursor.execute("SELECT current_setting('log_error_verbosity')")
            assert cursor.fetchone()[0] == "default"
            cursor.execute("RESET ROLE")
    assert "log_error_verbosity" in caplog.text


@pytest.mark.postgres
def test_on_postgresql_an_import_waits_for_one_still_running(incident_and_customers):
    # Two imports side by side (two workers, or the admin and manage.py): an
    # exposures file read none of the customers the other had not committed yet,
    # and two upserts of the same rows could deadlock. The second now waits
    # (here, for less than the lock_timeout the other import holds it past).
    import psycopg
    from django.db import OperationalError, connection

    from customers.importers.postgres import IMPORT_LOCK

    params = connection.get_connection_params()
    keys = ("dbname", "user", "password", "host", "port")
    text = "customer_ref,exposed\nEX0001,passport_number=PA1234821\n"
    with psycopg.connect(**{k: params[k] for k in keys if params.get(k)}) as other:
        other.execute("SELECT pg_advisory_lock(%s)", [IMPORT_LOCK])
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '50ms'")
        try:
            with pytest.raises(OperationalError, match="lock timeout"):
                import_exposures(csv_bytes(text), incident=incident_and_customers)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET lock_timeout")
    report = import_exposures(csv_bytes(text), incident=incident_and_customers)
    assert report.inserted == 1


def test_the_command_refuses_exposures_for_a_closed_incident(
    tmp_path: Path, incident_and_customers
):
    # The admin refused a closed incident; manage.py imported into it, after
    # retention may have frozen its figures and deleted its exposures.
    from customers.services import incident_close

    incident_close(incident=incident_and_customers, by=None)
    file = tmp_path / "exposures.csv"
    file.write_text("customer_ref,exposed\nEX0001,passport_number=PA1234821\n")
    with pytest.raises(CommandError, match="is closed: reopen it"):
        call_command("import_exposures", str(file), "--incident", "breach", stdout=io.StringIO())
    assert not Exposure.objects.exists()
