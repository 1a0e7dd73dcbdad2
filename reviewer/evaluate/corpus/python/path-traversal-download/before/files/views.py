import os

from flask import Blueprint, abort, send_file

from files.auth import login_required

bp = Blueprint("files", __name__)
UPLOAD_DIR = "/srv/uploads"
