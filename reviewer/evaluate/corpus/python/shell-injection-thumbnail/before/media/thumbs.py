import logging
import subprocess
from pathlib import Path

log = logging.getLogger(__name__)

THUMB_DIR = Path("/var/media/thumbs")


def thumbnail_path(upload_name: str) -> Path:
    return THUMB_DIR / f"{Path(upload_name).stem}.png"
