"""Import settings exported from another workspace."""

import json

import yaml

from flask import Blueprint, request

from settings.store import save_settings

bp = Blueprint("import", __name__)


@bp.post("/settings/import")
def import_settings():
    text = request.get_data(as_text=True)
    if request.mimetype in ("application/yaml", "text/yaml"):
        data = yaml.load(text, Loader=yaml.Loader)
    else:
        data = json.loads(text)
    save_settings(request.user.workspace_id, data)
    return {"imported": len(data)}
