from __future__ import annotations

import pytest

from notices.markdown import disallowed_hosts, missing_sections, render_markdown


@pytest.fixture(autouse=True)
def hosts(settings):
    settings.PORTAL_BASE_URL = "https://portal.example.com"
    settings.NOTICE_LINK_HOSTS = ["www.oaic.gov.au"]


@pytest.mark.parametrize(
    "attack",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        "[click](javascript:alert(1))",
        "[click](data:text/html;base64,PHNjcmlwdD4=)",
        '<a href="https://portal.example.com" onclick="alert(1)">x</a>',
        "<iframe src='https://evil.example'></iframe>",
        "![x](https://evil.example/pixel.gif)",
        "<svg onload=alert(1)>",
    ],
)
def test_scripts_and_off_site_content_never_survive(attack):
    """Whatever is typed, the HTML has only harmless elements and attributes
    (raw HTML appears as text, which the parser sees as data, not tags)."""
    elements = parse(str(render_markdown(attack)))
    for tag, attributes in elements:
        assert tag in {"p", "a", "img", "em", "strong"}, tag
        for name, value in attributes:
            assert not name.startswith("on"), name
            if name in ("href", "src"):
                assert value.startswith(("https://portal.example.com", "/")), value


def parse(html: str) -> list[tuple[str, list]]:
    from html.parser import HTMLParser

    class Collector(HTMLParser):
        def __init__(self):
            super().__init__()
            self.elements = []

        def handle_starttag(self, tag, attrs):
            self.elements.append((tag, attrs))

    collector = Collector()
    collector.feed(html)
    return collector.elements


def test_links_to_allowed_hosts_are_kept_and_others_lose_their_target():
    html = str(
        render_markdown(
            "[Regulator](https://www.oaic.gov.au/privacy) [Us](/help) [Evil](https://evil.example/login)"
        )
    )
    assert 'href="https://www.oaic.gov.au/privacy"' in html
    assert 'href="/help"' in html
    assert "evil.example" not in html and "Evil" in html
    assert 'rel="noopener noreferrer"' in html


def test_images_from_the_portal_are_allowed():
    html = str(render_markdown("![chart](https://portal.example.com/static/chart.png)"))
    assert '<img src="https://portal.example.com/static/chart.png"' in html


def test_headings_start_below_the_page_title():
    html = str(render_markdown("# What happened\n\ntext\n\n## Details"))
    assert "<h2>What happened</h2>" in html and "<h3>Details</h3>" in html and "<h1>" not in html
    assert "<h2>Top</h2>" in str(render_markdown("### Top"))


def test_disallowed_hosts_are_listed_for_the_editor():
    text = "[a](https://evil.example) [b](https://www.oaic.gov.au) ![c](https://img.evil.example/x)"
    assert disallowed_hosts(text) == ["evil.example", "img.evil.example"]


BREACH_EN = """# What happened?
A.
## What information was involved
B.
## What we are doing
C.
## What you can do
D.
## For more information
E.
"""


def test_required_sections_in_english_and_french():
    assert missing_sections(BREACH_EN, "en") == []
    assert missing_sections("## What happened\n## What we are doing", "en") == [
        "What information was involved",
        "What you can do",
        "For more information",
    ]
    french = (
        "## Ce qui s\u2019est passé\n## Quelles informations sont concernées\n"
        "## Ce que nous faisons\n## Ce que vous pouvez faire\n## Pour plus d'informations"
    )
    assert missing_sections(french, "fr") == []
