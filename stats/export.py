"""The statistics as tables: the same rows as the page, for CSV and Excel (tabular's writers,
`tabular.csv_bytes` and `tabular.xlsxfile.xlsx_bytes`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stats.figures import Figures

Translate = Callable[[str], str]


def _days(value: float | None) -> Any:
    return "" if value is None else round(value, 1)


def summary_table(figures: Figures, _: Translate, all_series: str) -> list[list[Any]]:
    head = [_("Year"), _("Bulletin (刊物)"), _("Issues"), _("Supplements (增刊)"), _("Correction notices"), _("Annulled"),
            _("Median days, submission to sign-off"), _("Median days, sign-off to publication"),
            _("Returns for revision"), _("Send-backs to review")]
    head += [f"{_('Instructions (批示)')}: {level}" for level in figures.levels]
    head += [_("Instructions (批示)"), _("Issues with instructions"), _("Instruction rate")]
    rows: list[list[Any]] = [head]
    for r in figures.rows:
        line: list[Any] = [r.year, r.series_name or all_series, r.issues, r.supplements, r.notices, r.annulled,
                           _days(r.median_to_signoff), _days(r.median_to_publication), r.returns, r.send_backs]
        line += [r.instructions_by_level.get(level, 0) for level in figures.levels]
        rate = r.instruction_rate
        line += [r.instructions, r.instructed_issues, "" if rate is None else round(rate, 4)]
        rows.append(line)
    return rows


def author_table(figures: Figures, _: Translate) -> list[list[Any]]:
    rows: list[list[Any]] = [[_("Year"), _("Bulletin (刊物)"), _("Drafter (撰稿人)"), _("Author line (署名)"), _("Issues")]]
    rows += [[a.year, a.series_name, a.author, a.author_line, a.issues] for a in figures.authors]
    return rows
