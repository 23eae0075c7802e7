from __future__ import annotations

import re
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length

from forms.base import CanyueForm, VersionField, WholeNumberField, version_of
from workflows import limits

__all__ = ["ActionForm", "BriefForm", "DiffForm", "EditBriefForm", "NewBriefForm", "PublishForm", "split_list",
           "version_of"]

# Names and keywords may be typed one per line or separated by 、，, ; as people do.
_SEPARATORS = re.compile(r"[\n\r、，,；;]+")


def split_list(text: str | None) -> list[str]:
    return [part.strip() for part in _SEPARATORS.split(text or "") if part.strip()]


class BriefForm(CanyueForm):
    # A textarea: a line break typed in the title is where the printed title breaks. A title is
    # needed to save at all (no pile of "(untitled)" drafts); a long one is refused with its
    # limit named, never cut by the browser (the field carries no maxlength).
    title = TextAreaField(
        _l("Title (press Enter where the printed title should break)"),
        validators=[
            DataRequired(message=_l("Please give the brief a title before saving.")),
            Length(max=limits.TITLE_LENGTH,
                   message=_l("The title is %(length)d characters long; at most %(max)d are allowed.")),
        ],
        render_kw={"rows": 2},
    )
    author_line = StringField(_l("Author line (署名)"), validators=[Length(max=limits.AUTHOR_LINE_LENGTH)])
    special_report = TextAreaField(
        _l("本期专报 (one name with title per line, in order)"),
        validators=[Length(max=limits.SPECIAL_REPORT_TEXT_LENGTH)],
    )
    supplement = BooleanField(_l("Supplement (增刊)"))
    classification = SelectField(_l("Classification"), validate_choice=True)
    urgency = SelectField(_l("Urgency"), validate_choice=True)
    keywords = StringField(_l("Keywords (separated by 、 or commas)"),
                           validators=[Length(max=limits.KEYWORDS_TEXT_LENGTH)])
    body = TextAreaField(_l("Body (Markdown)"), validators=[Length(max=limits.BODY_LENGTH)])

    def content(self) -> dict[str, Any]:
        return {
            "title": limits.clean_title(self.title.data or ""),
            "author_line": (self.author_line.data or "").strip(),
            "special_report": split_list(self.special_report.data),
            "supplement": bool(self.supplement.data),
            "classification": self.classification.data or "",
            "urgency": self.urgency.data or "",
            "keywords": split_list(self.keywords.data),
            "body": (self.body.data or "").replace("\r\n", "\n").strip("\n"),
        }

    def fill_from(self, brief: Any) -> None:
        self.title.data = brief.title
        self.author_line.data = brief.author_line
        self.special_report.data = "\n".join(brief.special_report)
        self.supplement.data = brief.supplement
        self.classification.data = brief.classification
        self.urgency.data = brief.urgency
        self.keywords.data = "、".join(brief.keywords)
        self.body.data = brief.body


class EditBriefForm(BriefForm):
    # The brief's version when the form was loaded: a save against a newer one is refused.
    version = VersionField()

    def fill_from(self, brief: Any) -> None:
        super().fill_from(brief)
        self.version.data = str(brief.version)


class NewBriefForm(BriefForm):
    series_id = SelectField(_l("Bulletin"), coerce=int, validators=[InputRequired()])


class ActionForm(CanyueForm):
    comment = TextAreaField(_l("Reason"), validators=[Length(max=limits.COMMENT_LENGTH)])
    version = VersionField()


class PublishForm(CanyueForm):
    issue_date = DateField(_l("Issue date"), validators=[DataRequired()])
    version = VersionField()


class DiffForm(CanyueForm):
    class Meta:
        csrf = False  # a GET form that only chooses what to show

    a = WholeNumberField(low=1, high=limits.MAX_REVISION, required=False)
    b = WholeNumberField(low=1, high=limits.MAX_REVISION, required=False)
