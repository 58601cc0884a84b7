"""Write the test fixtures: corpus/article.txt as a web page, a PDF and a Word file
(tests/fixtures/formats/), and two PDFs that cannot be indexed, one encrypted and one scanned
without a text layer (tests/fixtures/unreadable/).

    python scripts/make_fixtures.py [--out tests/fixtures]

Each format carries the furniture its kind of file has, so that tests can check it is never
cited: the web page has a menu, a breadcrumb, "Previous Post / Next Post", related posts and
a footer; the PDF has a running header and a "Page N of 2" footer on both pages and words
hyphenated at line ends; the Word file has a page header and footer. The outputs are small and
committed; tests/test_formats.py checks that this script still writes the same text.
"""

from __future__ import annotations

import argparse
import html
import io
import re
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARTICLE = ROOT / "corpus" / "article.txt"
OUT = ROOT / "tests" / "fixtures"
FIXED_TIME = datetime(2025, 10, 31, 8, 0, 0)

PDF_HEADER = "BAKTH · Lithium battery news"
PDF_FOOTER = "Page {page} of {pages}"
DOCX_HEADER = "BAKTH — Lithium battery news"
DOCX_FOOTER = "Previous Post | Next Post"


def article_parts(path: Path = ARTICLE) -> dict:
    """The article's title, dateline, and body blocks as (text, is_heading)."""
    text = path.read_text(encoding="utf-8")
    blocks = [b.strip() for b in re.split(r"\n\s*\n", text) if b.strip()]
    # blocks: breadcrumb, title, dateline, body..., "Previous Post Previous Next Post"
    body = [(b, bool(re.match(r"^0\d ", b))) for b in blocks[3:-1]]
    return {"title": blocks[1], "dateline": blocks[2], "body": body}


# -- web page ----------------------------------------------------------------------------------

def write_html(parts: dict, path: Path) -> None:
    e = html.escape
    body = "\n".join(f"<h2>{e(t)}</h2>" if heading else f"<p>{e(t)}</p>"
                     for t, heading in parts["body"])
    path.write_text(f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{e(parts['title'])} - BAKTH</title>
<meta property="og:title" content="{e(parts['title'])}">
<meta property="og:site_name" content="BAKTH">
<meta property="article:published_time" content="2025-10-31T08:00:00+08:00">
</head><body>
<header><a href="/">BAKTH</a>
<nav><ul><li><a href="/">Home</a></li><li><a href="/news">News</a></li>
<li><a href="/about">About us</a></li><li><a href="/contact">Contact</a></li></ul></nav></header>
<div class="breadcrumb"><a href="/">Home</a>&gt;<a href="/news">News</a> &gt;</div>
<main><article>
<h1>{e(parts['title'])}</h1>
<p class="meta"><time datetime="2025-10-31">Oct 31, 2025</time> | BAKTH</p>
{body}
</article>
<div class="post-nav"><a href="/prev">Previous Post</a> <a href="/next">Next Post</a></div>
<aside class="related"><h3>Related posts</h3><ul>
<li><a href="/a">CATL opens a new sodium-ion line in Fujian</a></li>
<li><a href="/b">Solid-state battery pilot lines expand in 2025</a></li></ul></aside>
</main>
<footer><p>© 2025 BAKTH. All rights reserved.</p>
<p><a href="/privacy">Privacy policy</a> · <a href="/terms">Terms of use</a></p></footer>
</body></html>
""", encoding="utf-8")


# -- PDF -----------------------------------------------------------------------------------------

PAGE_W, PAGE_H = 595.0, 842.0  # A4 in points
MARGIN = 50.0
BODY = ("Helvetica", 9.0, 11.0)        # font, size, leading
HEADING = ("Helvetica-Bold", 10.5, 13.0)
TITLE = ("Helvetica-Bold", 14.0, 17.0)
PARAGRAPH_GAP = 5.0
MIN_PIECE = 3  # letters kept on each side of a hyphenation


def wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Greedy line breaking; a long word that does not fit is hyphenated (as a typesetter
    would), but never after a hyphen it already has."""
    from reportlab.pdfbase.pdfmetrics import stringWidth
    lines, line = [], ""
    for word in text.split(" "):
        candidate = f"{line} {word}" if line else word
        if stringWidth(candidate, font, size) <= width:
            line = candidate
            continue
        # hyphenate: the longest prefix of letters that still fits, with "-"
        split = 0
        if re.fullmatch(r"[a-z]+[,.;:]?", word) and len(word.rstrip(",.;:")) >= 2 * MIN_PIECE:
            letters = word.rstrip(",.;:")
            for i in range(len(letters) - MIN_PIECE, MIN_PIECE - 1, -1):
                if stringWidth(f"{line} {word[:i]}-" if line else f"{word[:i]}-",
                               font, size) <= width:
                    split = i
                    break
        if split:
            lines.append(f"{line} {word[:split]}-" if line else f"{word[:split]}-")
            line = word[split:]
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    return lines


def pdf_lines(parts: dict) -> list[tuple[str, tuple, float]]:
    """(line, font, gap before) for the whole article, in reading order."""
    width = PAGE_W - 2 * MARGIN
    out = []
    blocks = [(parts["title"], TITLE), (parts["dateline"], BODY)]
    blocks += [(t, HEADING if heading else BODY) for t, heading in parts["body"]]
    for text, font in blocks:
        for i, line in enumerate(wrap(text, font[0], font[1], width)):
            out.append((line, font, PARAGRAPH_GAP if i == 0 else 0.0))
    return out


def write_pdf(parts: dict, path: Path, pages_expected: int = 2) -> None:
    from reportlab.pdfgen import canvas
    lines = pdf_lines(parts)
    top, bottom = PAGE_H - MARGIN - 10, MARGIN + 20
    # lay out first, to know the page count for the footer
    pages, page, y = [], [], top
    for line, font, gap in lines:
        step = gap + font[2]
        if y - step < bottom:
            pages.append(page)
            page, y = [], top
            step = font[2]
        y -= step
        page.append((line, font, y))
    pages.append(page)
    if len(pages) != pages_expected:
        raise SystemExit(f"the article takes {len(pages)} pages, not {pages_expected}")
    pdf = canvas.Canvas(str(path), pagesize=(PAGE_W, PAGE_H), invariant=1)
    pdf.setTitle(parts["title"])
    pdf.setAuthor("BAKTH")
    for number, page in enumerate(pages, 1):
        pdf.setFont("Helvetica", 7.5)
        pdf.drawString(MARGIN, PAGE_H - MARGIN + 12, PDF_HEADER)
        pdf.drawRightString(PAGE_W - MARGIN, MARGIN - 10,
                            PDF_FOOTER.format(page=number, pages=len(pages)))
        for line, font, y in page:
            pdf.setFont(font[0], font[1])
            pdf.drawString(MARGIN, y, line)
        pdf.showPage()
    pdf.save()


def write_encrypted_pdf(path: Path) -> None:
    """A PDF that opens only with the password 'secret'."""
    from reportlab.lib.pdfencrypt import StandardEncryption
    from reportlab.pdfgen import canvas
    pdf = canvas.Canvas(str(path), invariant=1,
                        encrypt=StandardEncryption("secret", ownerPassword="owner"))
    pdf.drawString(72, 720, "The password is needed to read this sentence.")
    pdf.showPage()
    pdf.save()


def write_scanned_pdf(path: Path) -> None:
    """A PDF whose page is a picture of text: no text layer, as a scanner writes it."""
    from PIL import Image, ImageDraw
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas
    image = Image.new("L", (240, 120), 255)
    draw = ImageDraw.Draw(image)
    for row in range(10, 110, 14):  # lines of "ink" where a scan would have words
        for col in range(10, 230, 23):
            draw.rectangle((col, row, col + 18, row + 6), fill=40)
    pdf = canvas.Canvas(str(path), invariant=1)
    pdf.drawImage(ImageReader(image), 72, 500, width=480, height=240)
    pdf.showPage()
    pdf.save()


# -- Word ------------------------------------------------------------------------------------------

def write_docx(parts: dict, path: Path) -> None:
    import docx
    document = docx.Document()
    props = document.core_properties
    props.title, props.author = parts["title"], "BAKTH"
    props.created = props.modified = FIXED_TIME
    props.last_modified_by, props.revision = "make_fixtures.py", 1
    section = document.sections[0]
    section.header.paragraphs[0].text = DOCX_HEADER
    section.footer.paragraphs[0].text = DOCX_FOOTER
    document.add_paragraph(parts["title"], style="Title")
    document.add_paragraph(parts["dateline"])
    for text, heading in parts["body"]:
        if heading:
            document.add_heading(text, level=1)
        else:
            document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    path.write_bytes(_fixed_zip_times(buffer.getvalue()))


def _fixed_zip_times(data: bytes) -> bytes:
    """The same zip with every entry dated FIXED_TIME, so that reruns write the same bytes."""
    import zipfile
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, FIXED_TIME.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(fixed, source.read(info.filename))
    return out.getvalue()


def write_all(out: Path = OUT) -> list[Path]:
    """Write every fixture into `out`/formats and `out`/unreadable; return their paths."""
    good, bad = out / "formats", out / "unreadable"
    good.mkdir(parents=True, exist_ok=True)
    bad.mkdir(parents=True, exist_ok=True)
    parts = article_parts()
    paths = {name: good / name for name in ("article.html", "article.pdf", "article.docx")}
    write_html(parts, paths["article.html"])
    write_pdf(parts, paths["article.pdf"])
    write_docx(parts, paths["article.docx"])
    paths["encrypted.pdf"] = bad / "encrypted.pdf"
    paths["scanned.pdf"] = bad / "scanned.pdf"
    write_encrypted_pdf(paths["encrypted.pdf"])
    write_scanned_pdf(paths["scanned.pdf"])
    return list(paths.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    for path in write_all(args.out):
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
