"""How fast, how big: the PDF renderer on a ~5,000-character brief, against headless Chromium.

    .venv/bin/python bench/render.py [--brief demo/briefs/ai-manufacturing.md] [--renders 50]

In one process: import WeasyPrint and rendering.pdf, make the PdfRenderer, render once (cold),
twice more to settle, then --warm times (warm: the median is reported, with the fastest and the
process CPU time), then --renders more while watching the resident set size. Where `chromium` is installed, the same HTML and stylesheet are printed with
`chromium --headless --print-to-pdf` (the whole process, start to exit, best of 3). The PDFs
are left in bench/out/ to look at. See bench/README.md for the figures and what they mean.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_WARM_S = 0.5
TARGET_BYTES = 300_000
TARGET_RSS_GROWTH = 0.10


def rss_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def pages_of(data: bytes) -> int:
    import io

    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(data)).pages)


def load_issue(path: Path):  # type: ignore[no-untyped-def]
    from publishing.brieffile import parse_brief_file
    from rendering.markdown import plain_text, render_body
    from rendering.printing import PrintedIssue

    brief = parse_brief_file(path.read_text(encoding="utf-8"))
    content = brief.content()
    issue = PrintedIssue(
        series_name="领导参阅",
        hosts=["苏州太湖书院", "苏州太湖智库"],
        issue_number=3,
        total_number=31,
        supplement=content["supplement"],
        issue_date=date(2022, 1, 28),
        special_report=content["special_report"],
        classification=content["classification"],
        urgency=content["urgency"],
        title=content["title"],
        author_line=content["author_line"],
        body_html=render_body(content["body"]),
        editor_name="李长青",
        contact_phone="18106219189  65519639（传真）",
        address="苏州市吴中区胥口镇灵山路 609 号",
        print_run=30,
        keywords=tuple(content["keywords"]),
    )
    return issue, len(plain_text(content["body"]).replace("\n", ""))


def chromium_pdf(html: str, css: str, out: Path) -> tuple[float, bytes] | None:
    """Print the HTML with headless Chromium; the best wall time of 3 runs, and the PDF."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if binary is None:
        return None
    page = html.replace("</head>", f"<style>\n{css}\n</style>\n</head>", 1)
    with tempfile.TemporaryDirectory(prefix="canyue-bench-") as tmp:
        source = Path(tmp) / "issue.html"
        source.write_text(page, encoding="utf-8")
        target = Path(tmp) / "issue.pdf"
        command = [binary, "--headless", "--disable-gpu", "--no-pdf-header-footer",
                   f"--user-data-dir={tmp}/profile", f"--print-to-pdf={target}", source.as_uri()]
        if os.geteuid() == 0:
            command.insert(1, "--no-sandbox")
        times = []
        for _ in range(3):
            target.unlink(missing_ok=True)
            start = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True, timeout=120)
            times.append(time.perf_counter() - start)
        data = target.read_bytes()
    out.write_bytes(data)
    return min(times), data


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--brief", type=Path, default=ROOT / "demo" / "briefs" / "ai-manufacturing.md")
    parser.add_argument("--warm", type=int, default=20, help="warm renders timed (median reported)")
    parser.add_argument("--renders", type=int, default=50, help="renders over which RSS growth is measured")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--no-chromium", action="store_true")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    start = time.perf_counter()
    from rendering.pdf import PRINT_CSS, PdfRenderer

    import_s = time.perf_counter() - start
    issue, characters = load_issue(args.brief)

    start = time.perf_counter()
    renderer = PdfRenderer()
    init_s = time.perf_counter() - start

    start = time.perf_counter()
    first = renderer.render(issue)
    cold_s = time.perf_counter() - start

    for _ in range(2):  # settle: allocator, Pango and fontconfig caches
        renderer.render(issue)
    warm = []
    cpu = []
    for _ in range(args.warm):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = renderer.render(issue)
        warm.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    assert result.data == first.data or len(result.data) == len(first.data)
    warm_s = statistics.median(warm)
    (args.out / "weasyprint.pdf").write_bytes(result.data)

    rss_before = rss_kib()
    for _ in range(args.renders):
        renderer.render(issue)
    rss_after = rss_kib()
    growth = (rss_after - rss_before) / rss_before

    chromium = None
    if not args.no_chromium:
        css = PRINT_CSS.read_text(encoding="utf-8") + "\n" + renderer.fonts.stylesheet()
        chromium = chromium_pdf(renderer.html(issue), css, args.out / "chromium.pdf")

    size = len(result.data)
    brief = args.brief.relative_to(ROOT) if args.brief.is_relative_to(ROOT) else args.brief
    print(f"brief            {brief} ({characters} characters of body text)")
    print(f"import           {import_s:.2f} s (WeasyPrint and rendering.pdf)")
    print(f"renderer         {init_s:.2f} s (PdfRenderer(): fontconfig, stylesheets)")
    print(f"cold render      {cold_s:.3f} s (first render in the process)")
    print(f"warm render      {warm_s:.3f} s median of {args.warm}, min {min(warm):.3f} s, "
          f"CPU {statistics.median(cpu):.3f} s   target <= {TARGET_WARM_S} s "
          f"{'ok' if warm_s <= TARGET_WARM_S else 'MISSED'}")
    print(f"PDF              {size:,} bytes, {result.pages} pages   target <= {TARGET_BYTES:,} "
          f"{'ok' if size <= TARGET_BYTES else 'MISSED'}")
    print(f"RSS              {rss_before / 1024:.1f} MiB -> {rss_after / 1024:.1f} MiB over {args.renders} "
          f"renders: {growth:+.1%}   target <= {TARGET_RSS_GROWTH:.0%} "
          f"{'ok' if growth <= TARGET_RSS_GROWTH else 'MISSED'}")
    if chromium is None:
        print("chromium         not run" + (" (--no-chromium)" if args.no_chromium else " (not installed)"))
    else:
        chromium_s, chromium_data = chromium
        print(f"chromium         {chromium_s:.2f} s whole process (best of 3), {len(chromium_data):,} bytes, "
              f"{pages_of(chromium_data)} pages")
        print(f"vs chromium      time {warm_s / chromium_s:.2f}x (warm render / Chromium process), "
              f"size {size / len(chromium_data):.2f}x")
    print(f"output           {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}/"
          "weasyprint.pdf" + (", chromium.pdf" if chromium else ""))
    ok = warm_s <= TARGET_WARM_S and size <= TARGET_BYTES and growth <= TARGET_RSS_GROWTH
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
