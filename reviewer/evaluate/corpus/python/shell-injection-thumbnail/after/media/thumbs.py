import logging
import subprocess
from pathlib import Path

log = logging.getLogger(__name__)

THUMB_DIR = Path("/var/media/thumbs")


def thumbnail_path(upload_name: str) -> Path:
    return THUMB_DIR / f"{Path(upload_name).stem}.png"


def make_thumbnail(upload: Path, size: int = 200) -> Path:
    target = thumbnail_path(upload.name)
    log.info("thumbnail %s -> %s", upload, target)
    subprocess.run(
        f"convert '{upload}' -resize {size}x{size} '{target}'", shell=True, check=True
    )
    return target
