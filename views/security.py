"""The two-factor policy per role (安全管理员; until that role exists, the administrator)."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from extensions import db
from forms.auth import EmptyForm
from i18n import translate
from signin import twofactor
from views.access import require
from views.auth import security_log

bp = Blueprint("security", __name__, url_prefix="/security")



@bp.context_processor
def _labels() -> dict[str, object]:
    return {"policy_role_label": lambda role: translate(twofactor.role_label(role))}


@bp.route("/2fa-policy", methods=["GET", "POST"])
def twofactor_policy() -> Response | str | tuple[str, int]:
    require("set_security_policy")
    defaults = twofactor.default_required_roles(current_app.config["CANYUE_2FA_REQUIRED_ROLES"])
    form = EmptyForm()
    if form.validate_on_submit():
        current = twofactor.policy(db.session, defaults)
        changed = []
        for role in twofactor.POLICY_ROLES:
            wanted = request.form.get(f"role-{role}")
            if wanted not in (twofactor.REQUIRED, twofactor.OFFERED) or wanted == current[role]:
                continue
            before = twofactor.set_policy(db.session, role, wanted, current_user)
            security_log("2fa_policy_changed", current_user._get_current_object(),  # type: ignore[attr-defined]
                         **twofactor.policy_detail(before or current[role], wanted, role))
            changed.append(role)
        db.session.commit()
        flash(_("The two-factor policy was saved.") if changed else _("Nothing was changed."), "success")
        return redirect(url_for("security.twofactor_policy"))
    return render_template("security/twofactor_policy.html", form=form,
                           policy=twofactor.policy(db.session, defaults), defaults=defaults)
