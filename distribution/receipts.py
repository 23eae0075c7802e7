"""The 签收单 (receipt sheet) a courier carries: its HTML (templates/distribution/
receipt_sheet.html, rendered by the view) made into a PDF by WeasyPrint.

The issue's own renderer (rendering/pdf.py) renders printed issues only; this sheet is a
plain A4 table, so it is made here with WeasyPrint directly: its styles inline, the system's
CJK fonts, and a URL fetcher that fetches nothing (rendering.pdf.CanyueUrlFetcher with no
directory allowed), so the sheet cannot pull in any file or address.
"""

from __future__ import annotations

import threading

_lock = threading.Lock()


def html_to_pdf(html: str) -> bytes:
    from weasyprint import HTML

    from rendering.pdf import CanyueUrlFetcher

    with _lock:  # WeasyPrint's font handling is not made for threads
        return HTML(string=html, url_fetcher=CanyueUrlFetcher([])).write_pdf()
