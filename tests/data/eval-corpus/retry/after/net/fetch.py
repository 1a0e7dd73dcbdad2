import time
import urllib.request


def fetch(url, attempts=3):
    for attempt in range(attempts):
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return response.read()
        except OSError:
            time.sleep(2**attempt)
    return fetch(url, attempts)
