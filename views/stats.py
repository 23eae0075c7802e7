"""成果统计: the statistics page (per year and per series), its CSV and Excel exports."""

from __future__ import annotations

from datetime import date
from urllib.parse import quote

from flask import Blueprint, Response, render_template
from flask_babel import gettext as _

from extensions import db
from stats import instructions
from stats.charts import Bar, horizontal_bars, stacked_bars
from stats.export import author_table, summary_table
from tabular.xlsxfile import xlsx_bytes
from stats.figures import Figures, Filters, compute
from tabular import csv_bytes
from views.access import require
from views.inputs import int_arg
from workflows.limits import EARLIEST_YEAR, LATEST_YEAR

bp = Blueprint("stats", __name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _figures(all_authors: bool = False) -> tuple[Filters, Figures]:
    require("view_statistics")
    filters = Filters(series_id=int_arg("series"), year=int_arg("year", low=EARLIEST_YEAR, high=LATEST_YEAR))
    return filters, compute(db.session, filters, levels=instructions.levels(), all_authors=all_authors)


def _charts(figures: Figures, filters: Filters) -> list:
    """Issues per year (regular and 增刊 stacked); the median days per year; briefs by author."""
    overall = [r for r in figures.rows if (r.series_id is None) == (filters.series_id is None)
               and (filters.series_id is None or r.series_id == filters.series_id)]
    if filters.series_id is None and len(figures.series) == 1:
        overall = [r for r in figures.rows if r.series_id is not None]
    overall = sorted(overall, key=lambda r: r.year)
    charts = []
    if overall:
        title = _("Issues per year")
        charts.append((title, stacked_bars(title, [
            Bar(str(r.year), (r.issues - r.supplements, r.supplements)) for r in overall],
            [_("Regular issues"), _("Supplements (增刊)")])))
        title = _("Median days from submission to sign-off")
        charts.append((title, horizontal_bars(title, [
            (str(r.year), round(r.median_to_signoff, 1)) for r in overall if r.median_to_signoff is not None],
            unit=_(" days"))))
    if figures.authors:  # those of one year: the one chosen, else the latest
        year = figures.authors[0].year
        totals: dict[str, int] = {}
        for a in figures.authors:
            if a.year == year:
                totals[a.author] = totals.get(a.author, 0) + a.issues
        title = _("Issues by drafter, %(year)d", year=year)
        charts.append((title, horizontal_bars(title, sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))[:12])))
    return charts


@bp.get("/statistics")
def page() -> str:
    filters, figures = _figures()
    return render_template("stats/index.html", figures=figures, filters=filters, charts=_charts(figures, filters))


def _filename(filters: Filters, ext: str) -> str:
    parts = ["成果统计", str(filters.year) if filters.year else "", f"series{filters.series_id}" if filters.series_id
             else "", date.today().isoformat()]
    return "-".join(p for p in parts if p) + f".{ext}"


def _download(data: bytes, mimetype: str, filename: str) -> Response:
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/statistics/export.csv")
def export_csv() -> Response:
    """The summary, then (after an empty line) the issues by author: one CSV."""
    filters, figures = _figures(all_authors=True)
    rows = summary_table(figures, _, _("All series")) + [[]] + author_table(figures, _)
    return _download(csv_bytes(rows), "text/csv", _filename(filters, "csv"))


@bp.get("/statistics/export.xlsx")
def export_xlsx() -> Response:
    filters, figures = _figures(all_authors=True)
    data = xlsx_bytes([(_("Per year and series"), summary_table(figures, _, _("All series"))),
                       (_("By author"), author_table(figures, _))])
    return _download(data, XLSX, _filename(filters, "xlsx"))
