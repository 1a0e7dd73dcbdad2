import time

import requests


def load_config(config: dict) -> dict:
    return {"timeout": config.get("timeout", 10), "url": config["url"]}


def deliver(config: dict, payload: dict) -> bool:
    retries = config.get("retries") or 3
    for attempt in range(retries + 1):
        response = requests.post(config["url"], json=payload, timeout=config.get("timeout", 10))
        if response.ok:
            return True
        time.sleep(2**attempt)
    return False
