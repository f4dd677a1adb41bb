"""A person signs in with a real browser: headless Chromium through the gateway and the provider's form."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from devstack.harness import Stack
from tests.chromium import start_chromium
from tests.test_signin import base


@pytest.fixture
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    driver = start_chromium(tmp_path_factory.mktemp("chromium"))
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
