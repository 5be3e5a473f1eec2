from __future__ import annotations

import pytest

from notices.markdown import (
    REQUIRED_SECTIONS,
    disallowed_hosts,
    empty_sections,
    missing_sections,
    render_markdown,
)


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


@pytest.mark.parametrize(
    "target",
    [
        "http:evil.example/x",  # no slashes: a browser still goes to evil.example
        "HTTP:evil.example/x",
        "https:/evil.example/x",
        "hTtPs:evil.example",
        "https:///evil.example",
        "//evil.example/x",  # protocol-relative
        "///evil.example/x",
        "/\\evil.example/x",  # a backslash is a slash to a browser
        "<java\tscript:alert(1)>",
        "<\x01javascript:alert(1)>",
        "jav&#x09;ascript:alert(1)",
        "&#104;ttps://evil.example",
        "https&#58;//evil.example",
        "https://%65vil.example/",
        "https://portal.example.com@evil.example/",
        "ftp://evil.example/x",
        "1http://evil.example",
        "https://[::1",
        # An escaped / ? # or \ does not end the authority in a browser: the
        # host is what follows the @, whatever the escape decodes to.
        "https://www.oaic.gov.au%2F@evil.example/",
        "https://portal.example.com%2f@evil.example/",
        "https://www.oaic.gov.au%3F@evil.example/",
        "https://www.oaic.gov.au%23@evil.example/",
        "https://www.oaic.gov.au%5C@evil.example/",
        "https://www.oaic.gov.au&#37;2F@evil.example/",
    ],
)
def test_link_allow_list_bypasses_are_refused(target):
    text = f"[click]({target}) ![pixel]({target})"
    assert disallowed_hosts(text)
    for _tag, attributes in parse(str(render_markdown(text))):
        assert not [value for name, value in attributes if name in ("href", "src")], attributes


@pytest.mark.parametrize(
    "target",
    [
        "https://www.oaic.gov.au/privacy",
        "HTTPS://WWW.OAIC.GOV.AU/privacy",
        "https://portal.example.com:443/help",
        "/help",
        "help/page",
        "#what-happened",
        "?lang=fr",
        "mailto:privacy@portal.example.com",
        "tel:+61400000000",
    ],
)
def test_intended_links_are_kept(target):
    assert disallowed_hosts(f"[ok]({target})") == []
    assert "href=" in str(render_markdown(f"[ok]({target})"))


def test_images_come_only_from_the_portal():
    text = "![a](https://www.oaic.gov.au/logo.png) ![b](/static/chart.png)"
    assert disallowed_hosts(text) == ["www.oaic.gov.au"]
    html = str(render_markdown(text))
    assert 'src="/static/chart.png"' in html and "oaic" not in html


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
## Other Important Information
F.
## For more information
E.
"""


def test_required_sections_in_english_and_french():
    assert missing_sections(BREACH_EN, "en") == []
    assert missing_sections("## What happened\n## What we are doing", "en") == [
        "What information was involved",
        "What you can do",
        "Other important information",
        "For more information",
    ]
    french = (
        "## Ce qui s\u2019est passé\nA.\n## Quelles informations sont concernées\nB.\n"
        "## Ce que nous faisons\nC.\n## Ce que vous pouvez faire\nD.\n"
        "## Autres informations importantes\nE.\n## Pour plus d'informations\nF."
    )
    assert missing_sections(french, "fr") == [] and empty_sections(french, "fr") == []


def test_the_required_sections_are_californias_headings():
    """DOMAIN.md: Cal. Civ. Code 1798.82 names six headings; each is required."""
    assert REQUIRED_SECTIONS["en"] == [
        "What happened",
        "What information was involved",
        "What we are doing",
        "What you can do",
        "Other important information",
        "For more information",
    ]
    assert len(REQUIRED_SECTIONS["fr"]) == len(REQUIRED_SECTIONS["en"])


def test_a_heading_with_nothing_under_it_is_an_empty_section():
    text = BREACH_EN.replace("## What we are doing\nC.\n", "## What we are doing\n\n   \n")
    assert missing_sections(text, "en") == []
    assert empty_sections(text, "en") == ["What we are doing"]
    last = BREACH_EN.replace("## For more information\nE.\n", "## For more information\n")
    assert empty_sections(last, "en") == ["For more information"]


def test_a_section_may_say_it_under_sub_headings_lists_or_tables():
    text = BREACH_EN.replace(
        "## What you can do\nD.\n", "## What you can do\n### If your passport was taken\n- Call.\n"
    )
    assert empty_sections(text, "en") == []
    only_a_sub_heading = BREACH_EN.replace(
        "## What you can do\nD.\n", "## What you can do\n### Nothing yet\n"
    )
    assert empty_sections(only_a_sub_heading, "en") == ["What you can do"]
