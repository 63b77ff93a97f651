"""A small PDF writer for documents that are mostly text: A4 pages, Helvetica, lines and dots.

Why not matplotlib for these: the hand-over of a 200-session patient is ~260 lines of text
on six pages, and matplotlib took 3–5 s to lay them out (plus ~2 s to import) on the Pi's
class of machine. This writes the PDF operators directly (the base-14 Helvetica fonts every
reader has, WinAnsi encoding for æ, ø, å), in milliseconds, and the text stays text (it can
be searched, copied and checked by the tests).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from pathlib import Path

A4_W_PT, A4_H_PT = 595.28, 841.89
MM = 72 / 25.4
_SUBSTITUTE = {"≥": ">=", "≤": "<=", "→": "->", "−": "-", "\u202f": " ", "\u2009": " "}


def _pdf_string(text: str) -> bytes:
    """A literal string in WinAnsi (cp1252) with ( ) \\ escaped; what WinAnsi cannot hold is
    written as its nearest plain form (≥ as >=) or '?'."""
    for a, b in _SUBSTITUTE.items():
        text = text.replace(a, b)
    raw = text.encode("cp1252", errors="replace")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") \
        + b")"


def text_width_pt(text: str, size: float) -> float:
    """An estimate (Helvetica's average advance ≈ 0.52 em) for right-aligned labels."""
    return 0.52 * size * len(text)


@dataclass
class Page:
    ops: list[bytes] = field(default_factory=list)

    def text(self, x_pt: float, y_pt: float, text: str, size: float = 9.0,
             bold: bool = False) -> None:
        """``text`` with its baseline at (x, y) points from the bottom left."""
        font = b"/F2" if bold else b"/F1"
        self.ops.append(b"BT " + font + f" {size:.1f} Tf {x_pt:.2f} {y_pt:.2f} Td ".encode()
                        + _pdf_string(text) + b" Tj ET")

    def polyline(self, points: list[tuple[float, float]], width: float = 1.0,
                 rgb: tuple[float, float, float] = (0, 0, 0), dash: bool = False) -> None:
        if len(points) < 2:
            return
        path = [f"{points[0][0]:.2f} {points[0][1]:.2f} m"]
        path += [f"{x:.2f} {y:.2f} l" for x, y in points[1:]]
        self.ops.append(f"q {rgb[0]:.3f} {rgb[1]:.3f} {rgb[2]:.3f} RG {width:.2f} w "
                        f"{'[3 2] 0 d ' if dash else ''}{' '.join(path)} S Q".encode())

    def dots(self, points: list[tuple[float, float]], size_pt: float = 3.0,
             rgb: tuple[float, float, float] = (0, 0, 0)) -> None:
        h = size_pt / 2
        rects = " ".join(f"{x - h:.2f} {y - h:.2f} {size_pt:.2f} {size_pt:.2f} re"
                         for x, y in points)
        if rects:
            self.ops.append(f"q {rgb[0]:.3f} {rgb[1]:.3f} {rgb[2]:.3f} rg {rects} f Q"
                            .encode())


@dataclass
class TextPdf:
    title: str = ""
    pages: list[Page] = field(default_factory=list)

    def new_page(self) -> Page:
        self.pages.append(Page())
        return self.pages[-1]

    def save(self, path: str | Path) -> None:
        objs: list[bytes] = []

        def add(body: bytes) -> int:
            objs.append(body)
            return len(objs)

        catalog = add(b"")  # filled below
        pages_id = add(b"")
        f1 = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica "
                 b"/Encoding /WinAnsiEncoding >>")
        f2 = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold "
                 b"/Encoding /WinAnsiEncoding >>")
        kids = []
        for page in self.pages:
            data = zlib.compress(b"\n".join(page.ops))
            content = add(f"<< /Length {len(data)} /Filter /FlateDecode >>\nstream\n".encode()
                          + data + b"\nendstream")
            kids.append(add(
                f"<< /Type /Page /Parent {pages_id} 0 R /MediaBox [0 0 {A4_W_PT} {A4_H_PT}] "
                f"/Resources << /Font << /F1 {f1} 0 R /F2 {f2} 0 R >> >> "
                f"/Contents {content} 0 R >>".encode()))
        objs[catalog - 1] = f"<< /Type /Catalog /Pages {pages_id} 0 R >>".encode()
        objs[pages_id - 1] = (f"<< /Type /Pages /Kids [{' '.join(f'{k} 0 R' for k in kids)}] "
                              f"/Count {len(kids)} >>").encode()
        info = add(b"<< /Title " + _pdf_string(self.title) + b" /Producer (fourbyfour) >>")
        out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
        offsets = []
        for i, body in enumerate(objs, 1):
            offsets.append(len(out))
            out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
        xref = len(out)
        out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
        out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
        out += (f"trailer\n<< /Size {len(objs) + 1} /Root {catalog} 0 R /Info {info} 0 R >>\n"
                f"startxref\n{xref}\n%%EOF\n").encode()
        Path(path).write_bytes(bytes(out))
