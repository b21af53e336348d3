#!/usr/bin/env python3
"""Check the relative links of the project's Markdown, so that moving text never leaves a dead link.

Checked: README.md, docs/**/*.md, infra/local/*.md, and every other Markdown file they link to
(or the files named on the command line instead). For each relative link, inline `[text](target)`
or a reference definition `[label]: target`, outside code:

- the target file or directory exists;
- a `#fragment` names a heading of the target (or of the file itself, for `#fragment` alone),
  as GitHub makes its anchor: the heading's text lowercased, every character dropped but
  letters, digits, `_`, `-` and spaces, spaces turned to `-`; a repeated heading's anchor gets
  `-1`, `-2`, ... An HTML `id` or `name` attribute is an anchor too. A fragment on a file that
  is not Markdown may only be a line (`#L12`, `#L12-L20`).

Links with a scheme (https:, mailto:, ...) are not fetched: this runs without a network.
Each broken link is printed as `file:line: link — reason`; the exit status is 1 if there is one.
Standard library only.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from pathlib import Path
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parents[3]
DEFAULT = ["README.md", "docs/**/*.md", "infra/local/*.md"]

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
HTML_ID = re.compile(r"""<[^>]*\b(?:id|name)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)
# [text](target) or [text](target "title"); the text may hold one level of brackets.
INLINE = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*(<[^>]*>|[^)\s]*)(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)")
REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:[ \t]*(<[^>]*>|\S+)", re.MULTILINE)
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
LINE_ANCHOR = re.compile(r"^L\d+(?:-L\d+)?$")


def without_code(text: str) -> str:
    """The text with fenced blocks and code spans blanked (newlines kept, so offsets hold)."""
    lines = text.split("\n")
    fence = None
    for i, line in enumerate(lines):
        match = FENCE.match(line)
        if fence is None and match:
            fence = match.group(1)
            lines[i] = ""
        elif fence is not None:
            if match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence):
                fence = None
            lines[i] = ""
    blanked = "\n".join(lines)
    return CODE_SPAN.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), blanked)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading's Markdown text."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link: its text
    text = re.sub(r"<[^>]+>", "", text)  # HTML tags
    text = text.replace("`", "").strip().lower()
    kept = "".join(
        c for c in text
        if c in " -" or unicodedata.category(c)[0] in "LMN" or unicodedata.category(c) == "Pc"
    )
    return kept.replace(" ", "-")


def anchors(path: Path, cache: dict[Path, set[str]]) -> set[str]:
    """Every anchor a Markdown file's headings and HTML ids make."""
    if path in cache:
        return cache[path]
    text = path.read_text(encoding="utf-8")
    found: set[str] = set(HTML_ID.findall(text))
    seen: dict[str, int] = {}
    lines = without_code(text).split("\n")
    raw = text.split("\n")
    for i, line in enumerate(lines):
        heading = None
        match = ATX.match(line)
        if match:
            heading = raw[i].strip().lstrip("#").strip()
            heading = re.sub(r"[ \t]+#+$", "", heading)
        elif i > 0 and SETEXT.match(line) and lines[i - 1].strip() and not ATX.match(lines[i - 1]):
            heading = raw[i - 1].strip()
        if heading is None:
            continue
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    cache[path] = found
    return found


def links(path: Path):
    """(line, target) of every link in a Markdown file, outside code."""
    text = without_code(path.read_text(encoding="utf-8"))
    for pattern in (INLINE, REFERENCE):
        for match in pattern.finditer(text):
            target = match.group(1).strip("<>")
            yield text.count("\n", 0, match.start(1)) + 1, target


def check(path: Path, cache: dict[Path, set[str]]):
    """(line, link, reason) of each broken link in `path`, and the Markdown files it links."""
    broken, linked = [], []
    for line, target in links(path):
        if not target or SCHEME.match(target):
            continue
        part, _, fragment = target.partition("#")
        part = unquote(part.split("?", 1)[0])
        fragment = unquote(fragment)
        if part:
            resolved = (ROOT / part.lstrip("/")) if part.startswith("/") else (path.parent / part)
            resolved = resolved.resolve()
        else:
            resolved = path
        if not resolved.exists():
            broken.append((line, target, "no such file"))
            continue
        is_markdown = resolved.is_file() and resolved.suffix.lower() == ".md"
        if is_markdown and resolved != path:
            linked.append(resolved)
        if not fragment:
            continue
        if is_markdown:
            if fragment not in anchors(resolved, cache):
                broken.append((line, target, f"no heading makes the anchor #{fragment}"))
        elif not (resolved.is_file() and LINE_ANCHOR.match(fragment)):
            broken.append((line, target, "a fragment on a file that is not Markdown"))
    return broken, linked


def main(argv: list[str]) -> int:
    if argv:
        queue = [Path(a).resolve() for a in argv]
    else:
        queue = sorted({p.resolve() for pattern in DEFAULT for p in ROOT.glob(pattern)})
    done: set[Path] = set()
    cache: dict[Path, set[str]] = {}
    failures = 0
    checked = 0
    while queue:
        path = queue.pop(0)
        if path in done:
            continue
        done.add(path)
        broken, linked = check(path, cache)
        checked += 1
        queue.extend(p for p in linked if p not in done)
        try:
            shown = path.relative_to(ROOT)
        except ValueError:
            shown = path
        for line, target, reason in sorted(broken):
            print(f"{shown}:{line}: {target} — {reason}")
            failures += 1
    if failures:
        print(f"{failures} broken link(s) in {checked} Markdown file(s)")
        return 1
    print(f"links: {checked} Markdown file(s), no broken link")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
