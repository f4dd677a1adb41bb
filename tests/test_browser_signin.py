"""A person signs in with a real browser: headless Chromium through the gateway and the provider's form."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest
import requests
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from devstack.harness import Stack
from tests.test_signin import base

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


@pytest.fixture
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    os.environ["SE_OFFLINE"] = "true"  # Selenium must use the Debian driver, never download one
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium')}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def test_sign_in_in_headless_chromium(stack: Stack, browser: webdriver.Chrome) -> None:
    browser.get(f"{base(stack)}/auth/google/login")
    subject = WebDriverWait(browser, 20).until(expected_conditions.presence_of_element_located((By.NAME, "sub")))
    assert browser.current_url.startswith(stack.config.oidc_url)  # on the provider's page now
    subject.send_keys("alice@example.com")
    browser.find_element(By.XPATH, "//button[normalize-space()='Authorize']").click()
    WebDriverWait(browser, 20).until(lambda driver: "/auth/google/callback" in driver.current_url)
    body = json.loads(browser.find_element(By.TAG_NAME, "body").text)
    assert body["user"]["email"] == "alice@example.com"
    profile = requests.get(
        f"{stack.gateway}/users/profile", headers={"Authorization": f"Bearer {body['access_token']}"}, timeout=10
    )
    assert profile.status_code == 200 and profile.json()["name"] == "Alice Example"
