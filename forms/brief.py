from __future__ import annotations

import re
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

# Names and keywords may be typed one per line or separated by 、，, ; as people do.
_SEPARATORS = re.compile(r"[\n\r、，,；;]+")


def split_list(text: str | None) -> list[str]:
    return [part.strip() for part in _SEPARATORS.split(text or "") if part.strip()]


class BriefForm(FlaskForm):
    title = StringField(_l("Title"), validators=[Length(max=200)])
    author_line = StringField(_l("Author line (署名)"), validators=[Length(max=100)])
    special_report = TextAreaField(
        _l("本期专报 (one name with title per line, in order)"), validators=[Length(max=2000)]
    )
    supplement = BooleanField(_l("Supplement (增刊)"))
    classification = SelectField(_l("Classification"), validate_choice=True)
    urgency = SelectField(_l("Urgency"), validate_choice=True)
    keywords = StringField(_l("Keywords (separated by 、 or commas)"), validators=[Length(max=300)])
    body = TextAreaField(_l("Body (Markdown)"), validators=[Length(max=200_000)])

    def content(self) -> dict[str, Any]:
        return {
            "title": (self.title.data or "").strip(),
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
    version = HiddenField(validators=[DataRequired()])

    def fill_from(self, brief: Any) -> None:
        super().fill_from(brief)
        self.version.data = str(brief.version)


class NewBriefForm(BriefForm):
    series_id = SelectField(_l("Bulletin"), coerce=int, validators=[InputRequired()])


class ActionForm(FlaskForm):
    comment = TextAreaField(_l("Reason"), validators=[Length(max=5000)])
    version = HiddenField(validators=[DataRequired()])


class PublishForm(FlaskForm):
    issue_date = DateField(_l("Issue date"), validators=[DataRequired()])
    version = HiddenField(validators=[DataRequired()])


class DiffForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form that only chooses what to show

    a = IntegerField(validators=[Optional()])
    b = IntegerField(validators=[Optional()])


def version_of(form: FlaskForm) -> int | None:
    raw = form.version.data  # type: ignore[attr-defined]
    return int(raw) if raw and str(raw).isdigit() else None
