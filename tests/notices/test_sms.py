"""SMS segment counting in Python, and the browser counter that must agree with it."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from notices.sms import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    SmsSegments,
    non_gsm_characters,
    sms_segments,
)

COUNTER_JS = (
    Path(__file__).resolve().parents[2] / "notices" / "static" / "notices" / "sms_counter.js"
)
EMOJI = "\U0001f600"  # 😀, a surrogate pair in UTF-16

# (text, encoding, characters, segments, per_segment)
CASES = [
    ("", "GSM-7", 0, 0, 160),
    ("a", "GSM-7", 1, 1, 160),
    ("a" * 160, "GSM-7", 160, 1, 160),
    ("a" * 161, "GSM-7", 161, 2, 153),
    ("a" * 306, "GSM-7", 306, 2, 153),
    ("a" * 307, "GSM-7", 307, 3, 153),
    # Extension characters count two septets.
    ("€" * 80, "GSM-7", 160, 1, 160),
    ("€" + "a" * 159, "GSM-7", 161, 2, 153),
    ("a" * 153 + "€", "GSM-7", 155, 1, 160),
    # An escape pair that would straddle 153 moves whole to the next segment.
    ("a" * 152 + "€" + "a" * 152, "GSM-7", 306, 3, 153),
    ("a" * 151 + "€" + "a" * 153, "GSM-7", 306, 2, 153),
    ("^{}\\[~]|\f", "GSM-7", 18, 1, 160),
    # UCS-2
    ("ê" * 70, "UCS-2", 70, 1, 70),
    ("ê" * 71, "UCS-2", 71, 2, 67),
    ("ê" * 134, "UCS-2", 134, 2, 67),
    ("ê" * 135, "UCS-2", 135, 3, 67),
    (EMOJI, "UCS-2", 2, 1, 70),
    (EMOJI * 35, "UCS-2", 70, 1, 70),
    (EMOJI * 35 + "a", "UCS-2", 71, 2, 67),
    # A surrogate pair that would straddle 67 moves whole to the next segment.
    ("a" * 66 + EMOJI + "a" * 66, "UCS-2", 134, 3, 67),
    ("a" * 65 + EMOJI + "a" * 67, "UCS-2", 134, 2, 67),
    # One non-GSM character switches the whole message.
    ("It\u2019s" + "a" * 100, "UCS-2", 104, 2, 67),
    ("Votre numéro de téléphone à l'hôtel", "UCS-2", 35, 1, 70),
    ("Votre numéro de téléphone, là-bas, où", "GSM-7", 37, 1, 160),
    ("line\r\nbreak", "GSM-7", 11, 1, 160),
]


@pytest.mark.parametrize(("text", "encoding", "characters", "segments", "per_segment"), CASES)
def test_sms_segments(text, encoding, characters, segments, per_segment):
    assert sms_segments(text) == SmsSegments(encoding, characters, segments, per_segment)


def test_the_tables_are_the_gsm_03_38_basic_set_and_extension_table():
    assert len(GSM7_BASIC) == 127  # 128 codes, less the escape
    assert "\x1b" not in GSM7_BASIC
    assert set("@£$¥¤§¡¿ΔΦΓΛΩΠΨΣΘΞ_\n\r") <= GSM7_BASIC
    assert "`" not in GSM7_BASIC
    assert set("^{}\\[~]|€\f") == GSM7_EXTENSION
    assert not GSM7_BASIC & GSM7_EXTENSION


@pytest.mark.parametrize("letter", list("éèàùìòÉÇÄÖÑÜäöñüÅåÆæØøß"))
def test_accented_letters_in_gsm_7(letter):
    assert sms_segments(letter).encoding == "GSM-7"


@pytest.mark.parametrize("letter", list("êçâîôûëïœÀÈÊÔÙáíóúãõ\u2019\u201c\u201d\u2013\u2026"))
def test_characters_outside_gsm_7(letter):
    assert sms_segments(letter).encoding == "UCS-2"


def test_non_gsm_characters_are_listed_once_in_order():
    assert non_gsm_characters("Hôtel \u2013 français, hôte") == ["ô", "\u2013", "ç"]
    assert non_gsm_characters("plain {text} €") == []


# --- The browser counter agrees -------------------------------------------------------

NODE = shutil.which("node")


def run_counter(script: str, payload: object) -> object:
    """Run ``script`` under Node with the counter module as ``m`` and JSON ``input``."""
    program = (
        "const m = require(process.argv[1]);"
        "let raw = '';"
        "process.stdin.on('data', (d) => { raw += d; });"
        "process.stdin.on('end', () => { const input = JSON.parse(raw);"
        f"process.stdout.write(JSON.stringify({script})); }});"
    )
    done = subprocess.run(
        [NODE, "-e", program, str(COUNTER_JS)],
        input=json.dumps(payload).encode(),
        capture_output=True,
        check=True,
        timeout=30,
    )
    return json.loads(done.stdout.decode())


needs_node = pytest.mark.skipif(NODE is None, reason="needs Node.js")


@needs_node
def test_the_js_tables_match_python():
    tables = run_counter("[[...m.GSM7_BASIC], [...m.GSM7_EXTENSION]]", None)
    assert set(tables[0]) == GSM7_BASIC
    assert set(tables[1]) == GSM7_EXTENSION


@needs_node
def test_the_js_counts_like_python():
    texts = [case[0] for case in CASES] + [
        "".join(sorted(GSM7_BASIC)),
        "".join(sorted(GSM7_EXTENSION)) * 20,
        "Mixed € and ê and " + EMOJI * 3,
    ]
    results = run_counter("input.map((t) => m.smsSegments(t))", texts)
    for text, js in zip(texts, results, strict=True):
        py = sms_segments(text)
        assert (js["encoding"], js["characters"], js["segments"], js["perSegment"]) == (
            py.encoding,
            py.characters,
            py.segments,
            py.per_segment,
        ), text


@needs_node
def test_the_js_counter_describes_the_count_in_english_and_french():
    texts = ["a" * 142, "a" * 160, "ê" * 150, "", "Hôtel"]
    english = run_counter("input.map((t) => m.describe(t))", texts)
    french = run_counter("input.map((t) => m.describe(t, {language: 'fr'}))", texts)
    assert english == [
        "142 characters · GSM-7 · 1 SMS segment",
        "160 characters · GSM-7 · 1 SMS segment",
        "150 characters · UCS-2 (because of “ê”) · 3 SMS segments",
        "0 characters · GSM-7 · 0 SMS segments",
        "5 characters · UCS-2 (because of “ô”) · 1 SMS segment",
    ]
    assert french[0] == "142 caractères · GSM-7 · 1 segment SMS"
    assert french[2] == "150 caractères · UCS-2 (à cause de «\u00a0ê\u00a0») · 3 segments SMS"


@needs_node
@pytest.mark.django_db
def test_the_js_counter_sizes_a_template_at_its_longest(settings):
    """With data-sms-counter holding worst_case_values(), JS sizes SMS like validation."""
    from notices.templating import DEFAULT_TEMPLATES, worst_case_values

    settings.PORTAL_BASE_URL = "https://firsthand.example"
    values = worst_case_values()
    bodies = [DEFAULT_TEMPLATES[("sms", lang)]["body"] for lang in ("en", "fr")]
    bodies.append("Hi {first_name}, {{braces}} {reference} {unknown}")
    results = run_counter(
        "input.bodies.map((b) => m.smsSegments(m.substitute(b, input.values)))",
        {"bodies": bodies, "values": values},
    )
    for body, js in zip(bodies[:2], results, strict=False):
        py = sms_segments(body.format_map(values))
        assert (js["characters"], js["segments"]) == (py.characters, py.segments)
    # {{ and }} become braces; an unknown placeholder is counted as written.
    expected = sms_segments("Hi " + values["first_name"] + ", {braces} " + "X" * 14 + " {unknown}")
    assert results[2]["characters"] == expected.characters
    described = run_counter("m.describe('{first_name}', {values: input})", values)
    assert described == "up to 100 characters · UCS-2 (because of “ł”) · 2 SMS segments"
