from __future__ import annotations

from notices.references import (
    ALPHABET,
    LENGTH,
    format_reference,
    new_reference,
    normalise_reference,
)


def test_references_use_an_unambiguous_alphabet():
    assert not set("0O1I") & set(ALPHABET)
    assert len(ALPHABET) == 32 and LENGTH == 12  # 60 bits


def test_references_are_random_and_well_formed():
    refs = {new_reference() for _ in range(2000)}
    assert len(refs) == 2000
    assert all(len(r) == 12 and set(r) <= set(ALPHABET) for r in refs)


def test_typed_references_are_normalised():
    ref = new_reference()
    shown = format_reference(ref)
    assert shown.count("-") == 2
    assert normalise_reference(shown) == ref
    assert normalise_reference(f" {shown.lower()} ") == ref
    assert normalise_reference(shown.replace("-", " ")) == ref


def test_malformed_references_are_refused():
    assert normalise_reference("") is None
    assert normalise_reference("ABCD-EFGH") is None
    assert normalise_reference("ABCD-EFGH-IJK0") is None  # I and 0 are not in the alphabet
