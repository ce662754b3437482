"""Stored text shown as markdown loads nothing remote: images become a visible note with their address.

Prompts, responses, rationales and guidelines are written by other people (or models). A markdown
image in them would make every reviewer's browser fetch its URL (a tracking pixel, or worse), so an
image is shown as text instead; links stay links (they load only when clicked).

>>> no_remote_images('Hi ![pixel](http://evil.example/p.png "t") there')
'Hi [image not shown: pixel] `http://evil.example/p.png "t"` there'
>>> no_remote_images("![ref][1]\\n\\n[1]: http://evil.example/p.png")
'!\\\\[ref][1]\\n\\n[1]: http://evil.example/p.png'
>>> no_remote_images('<img src="http://evil.example/p.png">')
'&lt;img src="http://evil.example/p.png">'
"""

from __future__ import annotations

import re

_INLINE = re.compile(r"!\[([^\]]*)\]\(\s*([^)]*?)\s*\)")
_HTML_IMAGE = re.compile(r"<(img|image|picture|source|svg|video|audio|iframe)\b", re.IGNORECASE)


def no_remote_images(text: str) -> str:
    """`text` with every markdown or HTML image neutralised (shown as text, never fetched)."""
    text = _INLINE.sub(lambda m: f"[image not shown: {m.group(1)}] `{m.group(2).replace('`', '')}`", text)
    text = text.replace("![", "!\\[")  # reference-style images and anything the pattern above missed
    return _HTML_IMAGE.sub(lambda m: "&lt;" + m.group(1), text)
