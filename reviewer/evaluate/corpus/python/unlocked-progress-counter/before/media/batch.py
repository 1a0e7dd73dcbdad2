import threading
from concurrent.futures import ThreadPoolExecutor


class Progress:
    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0
