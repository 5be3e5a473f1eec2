from __future__ import annotations

from customers.masking import looks_masked, mask_value


def test_documents_keep_only_their_last_four():
    assert mask_value("passport_number", "PA 123 4821") == "•••• 4821"
    assert mask_value("drivers_licence_number", "98-7654-312") == "•••• 4312"


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
