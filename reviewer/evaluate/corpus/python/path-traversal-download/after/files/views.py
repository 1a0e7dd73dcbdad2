import os

from flask import Blueprint, abort, send_file

from files.auth import login_required

bp = Blueprint("files", __name__)
UPLOAD_DIR = "/srv/uploads"


@bp.get("/files/<path:name>")
@login_required
def download(name: str):
    path = os.path.join(UPLOAD_DIR, name)
    if not os.path.isfile(path):
        abort(404)
    return send_file(path)
