"""Import settings exported from another workspace."""

import json

from flask import Blueprint, request

from settings.store import save_settings

bp = Blueprint("import", __name__)


@bp.post("/settings/import")
def import_settings():
    data = json.loads(request.get_data(as_text=True))
    save_settings(request.user.workspace_id, data)
    return {"imported": len(data)}
