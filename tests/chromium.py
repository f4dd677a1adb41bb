"""Debian's headless Chromium through Selenium, for the tests where a browser is the user."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def start_chromium(
    profile: Path, *, extra_flags: Iterable[str] = (), env: Mapping[str, str] | None = None
) -> webdriver.Chrome:
    """A fresh browser with its own profile directory; `env` for the driver (and so the browser) process."""
    os.environ["SE_OFFLINE"] = "true"  # Selenium must use the Debian driver, never download one
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, *extra_flags, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    service = Service(CHROMEDRIVER, env=dict(env) if env is not None else None)
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    return driver
