import threading
from concurrent.futures import ThreadPoolExecutor


class Progress:
    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0


def resize_all(paths, resize, progress: Progress, workers: int = 8) -> None:
    def one(path):
        resize(path)
        progress.done += 1

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(one, paths))
