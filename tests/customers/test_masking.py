from __future__ import annotations

from customers.masking import looks_masked, mask_contacts_in, mask_value, masked_contacts_only


def test_documents_keep_at_most_a_third_of_themselves_and_never_more_than_four():
    assert mask_value("passport_number", "PA 123 4821") == "•••• 821"  # 3 of 9
    assert mask_value("drivers_licence_number", "98-7654-312") == "•••• 312"
    assert mask_value("medicare_number", "2123 45670 1") == "•••• 701"  # 3 of 11
    assert mask_value("bank_account", "FR76 3000 6000 0112 3456 7890 189") == "•••• 0189"


def test_short_identifiers_show_only_their_last_two():
    # They showed four of seven or eight: more than half of the number.
    assert mask_value("drivers_licence_number", "1234567") == "•••• 67"
    assert mask_value("drivers_licence_number", "AB-12-3456") == "•••• 56"
    assert mask_value("passport_number", "N1234567") == "•••• 67"


def test_short_values_are_fully_hidden():
    assert mask_value("medicare_number", "12345") == "••••"


def test_email_phone_date_name_address():
    assert mask_value("email", "Jane.Doe@Example.com") == "J•••@example.com"
    assert mask_value("phone", "+61 412 345 321") == "•••• ••• 321"
    assert mask_value("date_of_birth", "1987-03-14") == "••/••/1987"
    assert mask_value("name", "Jane Citizen") == "J••• C•••"
    assert mask_value("address", "12 George St, Sydney NSW 2000") == "•••, Sydney NSW 2000"
    assert mask_value("password_hash", "pbkdf2$abc") == "••••••••"


def test_secrets_show_nothing_of_themselves():
    # Not the identity-number rule, which kept the last four: "•••• nson".
    assert mask_value("security_questions", "Maiden name: Johnson") == "••••••••"
    assert mask_value("auth_tokens", "eyJhbGciOiJIUzI1NiJ9.abc.def") == "••••••••"


def test_masked_values_never_contain_the_raw_value():
    raw = "PA1234821"
    masked = mask_value("passport_number", raw)
    assert raw not in masked and looks_masked(masked)


def test_contacts_quoted_in_free_text_are_masked():
    assert (
        mask_contacts_in("HTTP 400 code 21211: The 'To' number +61412345321 is not valid.")
        == "HTTP 400 code 21211: The 'To' number •••• ••• 321 is not valid."
    )
    assert mask_contacts_in("bounced: jane.doe@example.com (550)") == (
        "bounced: j•••@example.com (550)"
    )
    assert mask_contacts_in("call 0412 345 321") == "call •••• ••• 321"
    assert mask_contacts_in("HTTP 429") == "HTTP 429"


def test_only_the_contacts_of_free_text_are_kept_masked():
    assert masked_contacts_only("Jane: jane@example.com, 0412 345 678") == (
        "j•••@example.com, •••• ••• 678"
    )
    assert masked_contacts_only("Jane Doe, evenings") == "•••"
