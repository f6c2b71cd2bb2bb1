"""News release bodies: Markdown rendered and sanitised, figure references parsed."""

import pytest

from publications.news_markup import FigureReference, figure_references, news_body_html


def _render(body: str) -> str:
    return str(news_body_html(body=body, figures={}, language="id"))


@pytest.mark.parametrize(
    ("body", "forbidden"),
    [
        ('<script>alert("x")</script>', "<script"),
        ("<style>body{display:none}</style>", "<style"),
        ('<img src="x" onerror="steal()">', "onerror"),
        ('<a href="#" onmouseover="steal()">x</a>', "onmouseover"),
        ("[x](javascript:alert(1))", "javascript:"),
        ('<iframe src="https://example.org"></iframe>', "<iframe"),
        ('<p style="position:fixed">x</p>', "style="),
    ],
)
def test_markdown_body_loses_scripts_styles_and_handlers(body, forbidden):
    assert forbidden not in _render(body)


def test_markdown_keeps_headings_lists_tables_and_safe_links():
    html = _render(
        "## Judul\n\n* satu\n* dua\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n[s](https://example.org)"
    )
    assert "<h2>Judul</h2>" in html
    assert "<li>satu</li>" in html
    assert "<td>1</td>" in html
    assert 'href="https://example.org"' in html
    assert 'rel="noopener noreferrer"' in html


def test_figure_references_are_parsed_once_each_in_order():
    body = (
        "[[ACTIVE_PARTICIPANTS 2023]] dan [[FUNDS_UNDER_MANAGEMENT 2024-08]] "
        "dan [[ACTIVE_PARTICIPANTS 2023 segment=BPU]] lagi [[ACTIVE_PARTICIPANTS 2023]]"
    )
    assert figure_references(body) == [
        FigureReference("ACTIVE_PARTICIPANTS", "2023", ()),
        FigureReference("FUNDS_UNDER_MANAGEMENT", "2024-08", ()),
        FigureReference("ACTIVE_PARTICIPANTS", "2023", (("segment", "BPU"),)),
    ]


def test_an_unresolved_figure_says_it_is_not_available():
    html = _render("Angka [[ACTIVE_PARTICIPANTS 2023]].")
    assert "(angka tidak tersedia)" in html
    assert "[[" not in html


def test_text_that_only_looks_like_a_reference_is_left_alone():
    assert "[[lowercase 2023]]" in _render("[[lowercase 2023]]")
