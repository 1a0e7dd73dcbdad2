import time

import requests


def load_config(config: dict) -> dict:
    return {"timeout": config.get("timeout", 10), "url": config["url"]}
