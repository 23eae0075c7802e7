"""How long the honest preview takes for the demo brief: the specimen render, then reading every
page's text back (the HTML page) and rasterising every page (the page images), and how big
the images are.

    .venv/bin/python bench/preview.py [--brief demo/briefs/ai-manufacturing.md] [--rounds 5]

Medians over --rounds (after one warm-up). The render is the baseline the preview adds to: a
cache miss costs render + text (the HTML page) and then one raster per page (each image, as
the browser asks for it); a hit costs reading the cache.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--brief", type=Path, default=ROOT / "demo" / "briefs" / "ai-manufacturing.md")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    from bench.render import load_issue
    from publishing.pageimages import page_png, page_texts
    from rendering.pdf import PdfRenderer

    issue = load_issue(args.brief)[0]
    renderer = PdfRenderer()
    pdf = renderer.render(issue).data
    page_texts(pdf)
    renders, texts, rasters, sizes = [], [], [], []
    for _ in range(args.rounds):
        start = time.perf_counter()
        pdf = renderer.render(issue).data
        renders.append(time.perf_counter() - start)
        start = time.perf_counter()
        pages = page_texts(pdf)
        texts.append(time.perf_counter() - start)
        start = time.perf_counter()
        sizes = [len(page_png(pdf, p.number)) for p in pages]
        rasters.append(time.perf_counter() - start)
    count = len(sizes)
    render, text, raster = (statistics.median(v) for v in (renders, texts, rasters))
    print(f"brief            {args.brief.relative_to(ROOT) if args.brief.is_relative_to(ROOT) else args.brief}"
          f" ({count} pages)")
    print(f"render           {render:.3f} s (the specimen PDF, warm)")
    print(f"page texts       {text:.3f} s for {count} pages ({text / render:.2f}x the render)")
    print(f"page images      {raster:.3f} s for {count} pages, {raster / count * 1000:.0f} ms a page "
          f"({raster / render:.2f}x the render)")
    print(f"image sizes      {sum(sizes) / 1024:.0f} KiB in all, {min(sizes) / 1024:.0f}–{max(sizes) / 1024:.0f} KiB a page")


if __name__ == "__main__":
    main()
