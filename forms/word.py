from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, StringField
from wtforms.validators import Length

from forms.base import CanyueForm, VersionField


class WordImportForm(CanyueForm):
    series_id = SelectField(_l("Bulletin"), coerce=int)
    file = FileField(_l("Word file (.docx, from Word or WPS)"), validators=[FileRequired()])


class WordRevisionForm(CanyueForm):
    file = FileField(_l("Word file (.docx, from Word or WPS)"), validators=[FileRequired()])
    version = VersionField()


class ImageForm(CanyueForm):
    file = FileField(_l("Image (PNG, JPEG, or an EMF/WMF chart)"), validators=[FileRequired()])
    caption = StringField(_l("Caption (图1 …)"), validators=[Length(max=200)])
    version = VersionField()
