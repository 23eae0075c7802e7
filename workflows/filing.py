"""Filing (归档): the 档号 of an issue after DA/T 22-2015 (归档文件整理规则).

档号 = 全宗号-门类代码·年度-保管期限代码-件号, e.g. Z001-WS·2022-Y-0031. 件号 counts per
全宗/年度/保管期限, gap-free; the archivist may set where a year's count starts, because the
organisation's other records share the sequence.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from workflows.i18n import N_


class Retention(StrEnum):
    PERMANENT = "Y"  # 永久
    THIRTY_YEARS = "D30"  # 定期30年
    TEN_YEARS = "D10"  # 定期10年


RETENTION_LABELS: dict[Retention, str] = {
    Retention.PERMANENT: N_("Permanent (永久)"),
    Retention.THIRTY_YEARS: N_("30 years (定期30年)"),
    Retention.TEN_YEARS: N_("10 years (定期10年)"),
}


@dataclass(frozen=True)
class ArchiveCode:
    fonds: str  # 全宗号, an organisation setting
    category: str  # 门类代码, WS (文书) by default
    year: int  # 年度: the year
    retention: Retention
    item: int  # 件号

    def __str__(self) -> str:
        return f"{self.fonds}-{self.category}·{self.year}-{self.retention.value}-{self.item:04d}"


def next_item(highest_held: int | None, first_item: int | None) -> int:
    """One past the highest 件号 held in the sequence, and never below its configured start."""
    return max((highest_held or 0) + 1, first_item or 1)
