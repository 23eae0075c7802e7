"""How fast: a brief as .docx out (wordfiles.writer) and back in (wordfiles.reader), against
the in-process baselines of the same brief: its Markdown rendered to HTML, and its PDF.

    .venv/bin/python bench/word.py [--brief demo/briefs/ai-manufacturing.md] [--runs 20]

Prints the median of --runs for each step (after two to warm up), the .docx size, and the
ratios: export / PDF render, import / Markdown render. The exported file is left in bench/out/.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def median_seconds(step, runs: int) -> float:  # type: ignore[no-untyped-def]
    for _ in range(2):
        step()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--brief", type=Path, default=ROOT / "demo" / "briefs" / "ai-manufacturing.md")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    from publishing.brieffile import parse_brief_file
    from rendering.markdown import render_body
    from rendering.pdf import PdfRenderer
    from rendering.printing import PrintedIssue
    from wordfiles.reader import read_docx
    from wordfiles.writer import write_docx

    content = parse_brief_file(args.brief.read_text(encoding="utf-8")).content()
    body = content["body"]
    issue = PrintedIssue(series_name="领导参阅", hosts=["苏州太湖书院", "苏州太湖智库"], issue_number=3,
                         total_number=31, issue_date=date(2022, 1, 28), special_report=content["special_report"],
                         title=content["title"], author_line=content["author_line"], body_html=render_body(body),
                         editor_name="李长青", print_run=30)
    renderer = PdfRenderer()
    docx = write_docx(issue, body, {})
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "word-export.docx").write_bytes(docx)

    export = median_seconds(lambda: write_docx(issue, body, {}), args.runs)
    reimport = median_seconds(lambda: read_docx(docx, "x.docx"), args.runs)
    markdown = median_seconds(lambda: render_body(body), args.runs)
    pdf = median_seconds(lambda: renderer.render(issue), max(3, args.runs // 4))
    same = read_docx(docx, "x.docx").body.strip() == body.strip()

    print(f"brief: {args.brief.name}, {len(body):,} characters of body")
    print(f"export .docx   {export * 1000:8.1f} ms median   {len(docx):,} bytes")
    print(f"import .docx   {reimport * 1000:8.1f} ms median   (round trip gives the same body: {same})")
    print(f"Markdown→HTML  {markdown * 1000:8.1f} ms median   (baseline of the import)")
    print(f"PDF render     {pdf * 1000:8.1f} ms median   (baseline of the export)")
    print(f"ratios: export / PDF {export / pdf:.2f}x, import / Markdown {reimport / markdown:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
