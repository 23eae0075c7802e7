"""A brief's distribution list, and the copies it becomes at publication.

One source of truth for 本期专报
    The 本期专报 line is content: `Brief.special_report` (names as printed, in order) is saved in
    every revision, compared in diffs, signed off and printed. The list's 专报 entries are
    *derived* from it: `sync_special_entries` runs whenever that field is written (creating
    a brief, saving a revision: workflows.transitions calls it) and makes the 专报 entries
    exactly those names in that order, keeping the copy count, medium and directory link of
    a name that stays. So a 专报 entry is added, removed or reordered only by editing the
    content (the distribution page does it through `save_revision`), which is refused from
    approval on: the names freeze with the text. What stays editable until publication (the
    条例's 登记) is every entry's copy count and medium, and the 报 / 送 / 发 entries.
    `plan_copies` numbers the 专报 copies from `special_report` itself, so the copies and the
    printed line cannot disagree even if a 专报 entry were missing.

Where a list starts
    A new brief starts from its series' default list: its 报 / 送 / 发 entries are copied, and
    when the author gave no 本期专报 names, the series' 专报 recipients become them.

Copies
    `plan_copies` is the list as copies: 专报 first (in the printed order), then 报, 送, 发,
    each in its list order; one copy per count, numbered 1… (份号). A brief whose list names no
    报 / 送 / 发 recipient, in a series without a default list, has no list to speak of: it is
    printed in the series' default print run, its 专报 copies first and the rest as reserve
    copies (机动) without a recipient. 共印 N 份 is always the number of copies planned.

Nothing here imports Flask; the functions flush and never commit.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Brief, DistributionEntry, Recipient, SeriesDistribution
from models.types import utcnow
from workflows.brief import State
from workflows.copy import Category, Medium
from workflows.i18n import N_
from workflows.limits import check_copies

CATEGORY_ORDER = {c.value: i for i, c in enumerate(Category)}
# The list can be changed by an editor until publication (the 登记 step of publishing).
LIST_EDITABLE_STATES = frozenset({State.DRAFT, State.IN_REVIEW, State.AWAITING_SIGNOFF, State.SIGNED})


class ListRefused(Exception):
    """A change to the list that the rules do not allow (the message is marked for translation)."""


@dataclass(frozen=True)
class PlannedCopy:
    number: int
    category: str | None  # None: a reserve copy
    medium: str
    recipient_id: int | None
    label: str  # as printed: 曹路宝书记
    name: str
    title: str
    organisation: str


def _sort_key(entry: DistributionEntry) -> tuple[int, int, int]:
    return (CATEGORY_ORDER.get(entry.category, 9), entry.position, entry.id or 0)


def entries_of(session: Session, brief_id: int) -> list[DistributionEntry]:
    """The brief's list in its order: 专报 as printed, then 报, 送, 发."""
    rows = session.scalars(select(DistributionEntry).where(DistributionEntry.brief_id == brief_id)).all()
    return sorted(rows, key=_sort_key)


def series_entries(session: Session, series_id: int) -> list[SeriesDistribution]:
    rows = session.scalars(select(SeriesDistribution).where(SeriesDistribution.series_id == series_id)).all()
    return sorted(rows, key=lambda e: (CATEGORY_ORDER.get(e.category, 9), e.position, e.id or 0))


def match_recipient(session: Session, label: str) -> Recipient | None:
    """The active directory entry printed as `label` (name followed by title), if any."""
    candidates = session.scalars(
        select(Recipient).where(Recipient.active, (Recipient.name + Recipient.title) == label).order_by(Recipient.id)
    ).all()
    return candidates[0] if candidates else None


def series_special_labels(session: Session, series_id: int) -> list[str]:
    return [e.recipient.label for e in series_entries(session, series_id) if e.category == Category.SPECIAL.value]


def sync_special_entries(session: Session, brief: Brief) -> None:
    """Make the 专报 entries exactly `brief.special_report`, in order (see the module's notes)."""
    if brief.id is None:
        session.flush()
    with session.no_autoflush:
        current = [e for e in entries_of(session, brief.id) if e.category == Category.SPECIAL.value]
    by_label: dict[str, list[DistributionEntry]] = defaultdict(list)
    for entry in current:
        by_label[entry.label or ""].append(entry)
    kept: set[int] = set()
    for position, label in enumerate(brief.special_report or []):
        if by_label[label]:
            entry = by_label[label].pop(0)
            kept.add(id(entry))
        else:
            with session.no_autoflush:
                recipient = match_recipient(session, label)
            entry = DistributionEntry(
                brief_id=brief.id, category=Category.SPECIAL.value, label=label,
                recipient_id=recipient.id if recipient else None,
                copies=recipient.default_copies if recipient else 1, medium=Medium.PRINTED.value,
            )
            session.add(entry)
            kept.add(id(entry))
        entry.position = position
    for entry in current:
        if id(entry) not in kept:
            session.delete(entry)
    session.flush()


def start_distribution(session: Session, brief: Brief) -> None:
    """A new brief's list: the series' 报 / 送 / 发 lines, and 专报 lines from its content."""
    for line in series_entries(session, brief.series_id):
        if line.category == Category.SPECIAL.value or not line.recipient.active:
            continue
        session.add(DistributionEntry(
            brief_id=brief.id, recipient_id=line.recipient_id, category=line.category, copies=line.copies,
            medium=line.medium, position=line.position,
        ))
    sync_special_entries(session, brief)


def _touch(brief: Brief) -> None:
    # Changing the list bumps the brief's version: a publish or another edit that started
    # from the old list is refused as stale rather than silently mixing the two.
    brief.updated_at = utcnow()


def _check_open(brief: Brief) -> None:
    if State(brief.state) not in LIST_EDITABLE_STATES:
        raise ListRefused(N_("The distribution list is settled at publication; it can no longer be changed."))


def add_entry(
    session: Session, brief: Brief, recipient: Recipient, category: str, copies: int, medium: str
) -> DistributionEntry:
    """Add a 报 / 送 / 发 line (专报 names are content: see the module's notes)."""
    _check_open(brief)
    if category == Category.SPECIAL.value:
        raise ListRefused(N_("本期专报 names are part of the text: add them by editing the brief."))
    copies = check_copies(copies)  # 1 to MAX_COPIES_PER_LINE, or LimitExceeded
    Category(category), Medium(medium)  # noqa: B018 (validate)
    last = max((e.position for e in entries_of(session, brief.id) if e.category == category), default=-1)
    entry = DistributionEntry(brief_id=brief.id, recipient_id=recipient.id, category=category, copies=copies,
                              medium=medium, position=last + 1)
    session.add(entry)
    _touch(brief)
    session.flush()
    return entry


def update_entry(session: Session, brief: Brief, entry: DistributionEntry, *, copies: int, medium: str) -> bool:
    """Change a line's copy count or medium; True when something changed."""
    _check_open(brief)
    if entry.brief_id != brief.id:
        raise ListRefused(N_("This line belongs to another brief."))
    copies = check_copies(copies)
    Medium(medium)
    if (entry.copies, entry.medium) == (copies, medium):
        return False
    entry.copies, entry.medium = copies, medium
    _touch(brief)
    session.flush()
    return True


def move_entry(session: Session, brief: Brief, entry: DistributionEntry, offset: int) -> None:
    """Move a 报 / 送 / 发 line up (-1) or down (+1) within its category."""
    _check_open(brief)
    if entry.category == Category.SPECIAL.value:
        raise ListRefused(N_("本期专报 names are part of the text: reorder them by editing the brief."))
    same = [e for e in entries_of(session, brief.id) if e.category == entry.category]
    index = same.index(entry)
    target = index + offset
    if not 0 <= target < len(same):
        return
    same[index], same[target] = same[target], same[index]
    for position, line in enumerate(same):
        line.position = position
    _touch(brief)
    session.flush()


def remove_entry(session: Session, brief: Brief, entry: DistributionEntry) -> None:
    _check_open(brief)
    if entry.category == Category.SPECIAL.value:
        raise ListRefused(N_("本期专报 names are part of the text: remove them by editing the brief."))
    session.delete(entry)
    _touch(brief)
    session.flush()


def set_special_link(session: Session, brief: Brief, label: str, recipient: Recipient) -> None:
    """Link the 专报 line printed as `label` to a directory entry (its copies go to them)."""
    _check_open(brief)
    for entry in entries_of(session, brief.id):
        if entry.category == Category.SPECIAL.value and entry.label == label and entry.recipient_id is None:
            entry.recipient_id = recipient.id
            _touch(brief)
            session.flush()
            return


def has_list(session: Session, brief: Brief, entries: list[DistributionEntry] | None = None) -> bool:
    """Whether the brief has a distribution list beyond its 专报 names (module notes)."""
    entries = entries if entries is not None else entries_of(session, brief.id)
    if any(e.category != Category.SPECIAL.value for e in entries):
        return True
    return bool(series_entries(session, brief.series_id))


def plan_copies(session: Session, brief: Brief) -> list[PlannedCopy]:
    """The copies publication makes of `brief`, numbered in list order (module notes)."""
    entries = entries_of(session, brief.id)
    special: dict[str, list[DistributionEntry]] = defaultdict(list)
    for entry in entries:
        if entry.category == Category.SPECIAL.value:
            special[entry.label or ""].append(entry)
    lines: list[tuple[str | None, str, int, Recipient | None, str]] = []  # category, medium, copies, who, label
    for label in brief.special_report or []:
        entry = special[label].pop(0) if special[label] else None
        recipient = entry.recipient if entry is not None and entry.recipient is not None else None
        if recipient is None:
            recipient = match_recipient(session, label)
        lines.append((Category.SPECIAL.value, entry.medium if entry else Medium.PRINTED.value,
                      entry.copies if entry else 1, recipient, label))
    for entry in entries:
        if entry.category != Category.SPECIAL.value and entry.recipient is not None:
            lines.append((entry.category, entry.medium, entry.copies, entry.recipient, entry.recipient.label))
    planned: list[PlannedCopy] = []
    for category, medium, copies, recipient, label in lines:
        for _ in range(copies):
            planned.append(PlannedCopy(
                number=len(planned) + 1, category=category, medium=medium,
                recipient_id=recipient.id if recipient else None, label=label,
                name=recipient.name if recipient else label, title=recipient.title if recipient else "",
                organisation=recipient.organisation if recipient else "",
            ))
    if not planned or not has_list(session, brief, entries):
        for _ in range(max(0, brief.series.default_print_run - len(planned))):
            planned.append(PlannedCopy(number=len(planned) + 1, category=None, medium=Medium.PRINTED.value,
                                       recipient_id=None, label="", name="", title="", organisation=""))
    return planned


def replace_series_list(session: Session, series_id: int, lines: list[tuple[int, str, int, str]]) -> None:
    """Set a series' default list: (recipient id, category, copies, medium) in order. Every line
    is checked before anything changes."""
    checked = []
    for recipient_id, category, copies, medium in lines:
        checked.append((recipient_id, Category(category).value, check_copies(copies), Medium(medium).value))
    for old in session.scalars(select(SeriesDistribution).where(SeriesDistribution.series_id == series_id)):
        session.delete(old)
    session.flush()
    positions: dict[str, int] = defaultdict(int)
    for recipient_id, category, copies, medium in checked:
        session.add(SeriesDistribution(series_id=series_id, recipient_id=recipient_id, category=category,
                                       copies=copies, medium=medium, position=positions[category]))
        positions[category] += 1
    session.flush()


def labels_agree(session: Session, brief: Brief) -> bool:
    """The invariant: the 专报 entries are the 本期专报 line, in order."""
    special = [e.label for e in entries_of(session, brief.id) if e.category == Category.SPECIAL.value]
    return special == list(brief.special_report or [])
