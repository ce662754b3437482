"""Issue 13 item 11: no screen renders a remote image from stored text (a tracking pixel got 8 hits)."""

from __future__ import annotations

import ast
from pathlib import Path

from markdown_it import MarkdownIt

from review_ui.safe_text import no_remote_images

SCREENS = Path(__file__).resolve().parents[3] / "review_ui" / "screens"
ATTACKS = [
    "![pixel](http://127.0.0.1:9/p.png)",
    '![](  http://127.0.0.1:9/p.png "title" )',
    "![ref][px]\n\n[px]: http://127.0.0.1:9/p.png",
    "![a ![b](http://x/1.png)](http://x/2.png)",
    '<img src="http://127.0.0.1:9/p.png">',
    '<IMG SRC=http://127.0.0.1:9/p.png>',
    "text with a [link](http://example.org) stays a link",
]


def test_no_markdown_image_survives() -> None:
    md = MarkdownIt("commonmark").enable("table")
    for text in ATTACKS:
        html = md.render(no_remote_images(text))
        assert "<img" not in html.lower(), (text, html)
    assert '<a href="http://example.org">link</a>' in md.render(no_remote_images(ATTACKS[-1]))


def test_every_markdown_of_stored_text_in_the_screens_goes_through_the_filter() -> None:
    """st.markdown / st.info / st.write with anything but a literal string must call no_remote_images."""
    unsafe = []
    for path in SCREENS.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            if node.func.attr not in ("markdown", "info", "warning", "error", "success", "write") or not node.args:
                continue
            arg = node.args[0]
            literal = isinstance(arg, ast.Constant) or (
                isinstance(arg, ast.JoinedStr) and all(isinstance(v, ast.Constant) for v in arg.values)
            )
            filtered = any(isinstance(n, ast.Name) and n.id == "no_remote_images" for n in ast.walk(arg))
            if not literal and not filtered:
                unsafe.append(f"{path.name}:{node.lineno}: {ast.unparse(node)[:80]}")
    assert unsafe == [], unsafe
