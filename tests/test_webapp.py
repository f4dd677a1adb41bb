"""The web app as the gateway serves it: its routes, caching and security headers."""

from __future__ import annotations

import json
import os
import re
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from time import monotonic, sleep
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
from icalendar import Calendar, Event
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import Select, WebDriverWait

from devstack.harness import Stack
from devstack.stack import ROOT
from tests.chromium import start_chromium
from tests.test_signin import base

DIST = ROOT / "web" / "dist"


@pytest.fixture(scope="session")
def webapp() -> None:
    """The built app (`make test` builds it first; this is then a no-op that checks it is current)."""
    subprocess.run([str(ROOT / "scripts" / "web.sh"), "build"], check=True, capture_output=True)


@pytest.mark.parametrize("path", ["/", "/app", "/app/", "/app/day?date=2030-01-02", "/app/admin/rooms", "/app/x/y"])
def test_the_app_and_its_routes_are_index_html(stack: Stack, webapp: None, path: str) -> None:
    response = requests.get(f"{stack.gateway}{path}", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.text == (DIST / "index.html").read_text()
    assert response.headers["Cache-Control"] == "no-cache"
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY" and response.headers["X-Content-Type-Options"] == "nosniff"


def test_hashed_assets_are_cached_for_long_with_their_types(stack: Stack, webapp: None) -> None:
    names = re.findall(r'(?:src|href)="(/assets/[^"]+)"', (DIST / "index.html").read_text())
    assert any(name.endswith(".js") for name in names) and any(name.endswith(".css") for name in names)
    for name in names:
        response = requests.get(f"{stack.gateway}{name}", timeout=10)
        assert response.status_code == 200
        assert response.content == (DIST / name.lstrip("/")).read_bytes()
        kind = "text/javascript" if name.endswith(".js") else "text/css"
        assert response.headers["Content-Type"] == f"{kind}; charset=utf-8"
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert "Content-Security-Policy" not in response.headers


@pytest.mark.parametrize(
    "path", ["/assets/missing.js", "/assets/", "/index.html", "/appx", "/application", "/assets/../index.html"]
)
def test_other_paths_stay_404_problems(stack: Stack, webapp: None, path: str) -> None:
    response = requests.get(f"{stack.gateway}{path}", timeout=10)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"
    assert "Cache-Control" not in response.headers


def test_api_answers_keep_their_own_cache_headers(stack: Stack, webapp: None) -> None:
    response = requests.get(f"{stack.gateway}/auth/google/login?return_to=//evil", timeout=10)
    assert response.status_code == 400 and response.headers["Cache-Control"] == "no-store"
    assert "Content-Security-Policy" not in response.headers


# --- In a real browser: Debian's Chromium through the gateway, the services and the local provider ----------

SCREENSHOTS = ROOT / ".dev" / "reports" / "screenshots"
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
VIEWER_ZONE = "Europe/Berlin"
ROOM_ZONE = "America/New_York"
WAIT_S = 20


@dataclass
class Page:
    """The browser with the steps a person takes, each page photographed and checked by axe-core."""

    driver: webdriver.Chrome
    base: str
    axe_results: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def wait(self, condition: Any, timeout_s: float = WAIT_S) -> Any:
        return WebDriverWait(self.driver, timeout_s).until(condition)

    def find(self, xpath: str) -> WebElement:
        return self.wait(expected_conditions.visibility_of_element_located((By.XPATH, xpath)))  # type: ignore[no-any-return]

    def click(self, xpath: str) -> None:
        """Click once the element is clickable; again if the page re-rendered it meanwhile."""

        def clicked(driver: webdriver.Chrome) -> bool:
            try:
                expected_conditions.element_to_be_clickable((By.XPATH, xpath))(driver).click()  # type: ignore[union-attr]
            except (StaleElementReferenceException, AttributeError):
                return False
            return True

        self.wait(clicked)

    def button(self, text: str, within: str = "") -> None:
        self.click(f"{within}//button[normalize-space()={quote(text)}]")

    def field(self, label: str, within: str = "") -> WebElement:
        """The control a <label> names, found as a screen reader would: by the label's text."""
        tag = self.find(f"{within}//label[starts-with(normalize-space(), {quote(label)})]")
        return self.driver.find_element(By.ID, tag.get_attribute("for") or "")

    def type(self, label: str, text: str, within: str = "") -> None:
        control = self.field(label, within)
        control.clear()
        control.send_keys(text)

    def set_value(self, label: str, value: str, within: str = "") -> None:
        """For date and time inputs, whose typing differs by locale: set the value and fire input events."""
        self.driver.execute_script(
            "const [el, v] = arguments; const set = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype,"
            " 'value').set; set.call(el, v); el.dispatchEvent(new Event('input', {bubbles: true}));"
            " el.dispatchEvent(new Event('change', {bubbles: true}));",
            self.field(label, within),
            value,
        )

    def heading(self, text: str) -> None:
        self.find(f"//h1[normalize-space()={quote(text)}]")

    def notice(self, starts: str) -> str:
        return self.find(f"//p[@role='status' and starts-with(normalize-space(), {quote(starts)})]").text

    def check(self, name: str) -> None:
        """A screenshot of the page as it is now, and axe-core's verdict on it (no serious or critical issue)."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))
        if not self.driver.execute_script("return typeof axe !== 'undefined'"):
            self.driver.execute_script(AXE.read_text())
        violations = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {resultTypes: ['violations']}).then("
            "  r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length,"
            "    targets: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))),"
            "  e => done([{id: 'axe-error', impact: 'critical', help: String(e), nodes: 0, targets: []}]));"
        )
        self.axe_results[name] = violations
        bad = [v for v in violations if v["impact"] in ("serious", "critical")]
        assert not bad, f"axe-core on {name}: {json.dumps(bad, indent=1)}"

    def sign_in(self, subject: str) -> None:
        """From the app's sign-in page through the provider's form, back to where the app was."""
        self.click("//a[normalize-space()='Sign in']")
        self.wait(expected_conditions.presence_of_element_located((By.NAME, "sub"))).send_keys(subject)
        self.driver.find_element(By.XPATH, "//button[normalize-space()='Authorize']").click()
        self.wait(lambda driver: driver.current_url.startswith(f"{self.base}/app/"))
        self.find("//button[normalize-space()='Sign out']")

    def sign_out(self) -> None:
        self.button("Sign out")
        self.find("//a[normalize-space()='Sign in']")

    def cell(self, room: str, start: datetime) -> WebElement:
        """The day view's half-hour cell of a room that starts at an instant."""
        iso = start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        return self.find(f"//tr[th/span[normalize-space()={quote(room)}]]/td[@data-start='{iso}']")


def span(start: str, end: str) -> str:
    """A time range as the app writes it, with an en dash."""
    return f"{start}\u2013{end}"


def quote(text: str) -> str:
    return f'"{text}"' if '"' not in text else f"'{text}'"


@pytest.fixture(scope="module")
def page(stack: Stack, webapp: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    driver = start_chromium(
        tmp_path_factory.mktemp("chromium-webapp"),
        extra_flags=("--disable-quic", "--disable-popup-blocking", "--window-size=1280,900", "--lang=en-US"),
        env={**os.environ, "TZ": VIEWER_ZONE},  # the viewer's zone differs from UTC
    )
    driver.set_script_timeout(60)
    browser = Page(driver, base(stack))
    try:
        yield browser
    finally:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        (SCREENSHOTS / "axe.json").write_text(json.dumps(browser.axe_results, indent=1, sort_keys=True))
        driver.quit()


def test_admin_creates_a_room_that_appears_in_the_day_view(stack: Stack, page: Page) -> None:
    page.driver.get(f"{page.base}/")
    page.find("//a[normalize-space()='Sign in']")
    page.check("sign-in")
    page.sign_in("admin@example.com")
    page.heading("Day view")
    page.click("//a[normalize-space()='Admin: Rooms']")
    page.heading("Rooms")
    page.button("New room")
    dialog = "//dialog[@open]"
    page.type("Name", ROOM, dialog)
    page.type("Seats", "0", dialog)
    page.type("Time zone", ROOM_ZONE, dialog)
    page.type("Equipment", f"Projector, Whiteboard, {TAG}", dialog)
    page.type("Building", BUILDING, dialog)
    page.button("Create room", dialog)
    # The API's field error, beside the field it concerns.
    error = page.find(f"{dialog}//div[contains(@class, 'invalid')][label[starts-with(., 'Seats')]]/span")
    assert error.text
    page.check("admin-room-field-error")
    page.type("Seats", "8", dialog)
    page.button("Create room", dialog)
    assert page.notice("Created").startswith(f"Created {ROOM}")
    page.find(f"//table//th[normalize-space()={quote(ROOM)}]")
    page.check("admin-rooms")
    edit_deactivate_and_delete_rooms(stack, page)

    page.click("//a[normalize-space()='Admin: Users']")
    page.heading("Users")
    page.type("Name or e-mail", "admin")
    page.button("Search")
    page.find("//td[normalize-space()='admin@example.com']")
    page.check("admin-users")
    change_role_and_deactivate(stack, page)

    page.driver.get(f"{page.base}/app/day?date={TOMORROW.isoformat()}")
    filter_building(page)
    ten = datetime.combine(TOMORROW, time(10), ZoneInfo(VIEWER_ZONE))
    deadline = monotonic() + WAIT_S
    while page.cell(ROOM, ten).get_attribute("data-state") != "free":  # until room_created reached bookings
        assert monotonic() < deadline, "the new room never became bookable in the day view"
        page.driver.refresh()
        filter_building(page)
    page.find(f"//th[span[normalize-space()={quote(ROOM)}]]/span[contains(., 'New York time')]")
    page.check("day-view-admin")
    page.sign_out()


def test_an_employee_books_meets_a_conflict_changes_and_cancels(stack: Stack, page: Page) -> None:
    day_url = f"{page.base}/app/day?date={TOMORROW.isoformat()}"
    page.driver.get(day_url)
    page.sign_in("alice@example.com")
    assert page.driver.current_url == day_url  # return_to brought her back to the same day
    page.heading("Day view")
    zone = ZoneInfo(VIEWER_ZONE)
    ten = datetime.combine(TOMORROW, time(10), zone)
    neighbours(stack, zone)
    filter_building(page)
    page.find("//tbody[count(tr) = 3]")  # the filter keeps this test's three rooms

    # Find a free room for 12:00-13:00 with this test's equipment tag: ours, bookable from the result.
    find = "//section[@class='find']"
    page.set_value("From", f"{TOMORROW.isoformat()}T12:00", find)
    page.set_value("Until", f"{TOMORROW.isoformat()}T13:00", find)
    page.type("With equipment", TAG, find)
    page.button("Search", find)
    page.button(f"Book {ROOM}", find)
    assert span("12:00", "13:00") in page.find("//dialog[@open]//p[@class='when']").text
    page.button("Cancel", "//dialog[@open]")
    page.wait(lambda driver: not driver.find_elements(By.XPATH, "//dialog[@open]"))

    # By keyboard: focus 10:00, Shift+Right selects 10:00-11:00, Enter opens the form.
    page.cell(ROOM, ten).click()  # a click opens the form for one half hour; Escape closes it
    page.find("//dialog[@open]")
    ActionChains(page.driver).send_keys(Keys.ESCAPE).perform()
    page.wait(lambda driver: not driver.find_elements(By.XPATH, "//dialog[@open]"))
    page.cell(ROOM, ten).send_keys(Keys.SHIFT, Keys.ARROW_RIGHT)
    ActionChains(page.driver).send_keys(Keys.ENTER).perform()
    dialog = "//dialog[@open]"
    assert span("10:00", "11:00") in page.find(f"{dialog}//p[@class='when']").text
    assert "New York" in page.find(f"{dialog}//p[@class='when']").text  # the room's own time beside it
    page.type("Purpose", "Planning", dialog)
    page.check("booking-form")
    page.button("Book", dialog)
    assert span("10:00", "11:00") in page.notice("Booked")
    page.wait(lambda _: "mine" in (page.cell(ROOM, ten).get_attribute("class") or ""))
    page.check("day-view")

    # By mouse: drag over 14:00-15:00; meanwhile Bob books 14:30-15:30; Book -> the conflict, in words.
    two = datetime.combine(TOMORROW, time(14), zone)
    ActionChains(page.driver).click_and_hold(page.cell(ROOM, two)).move_to_element(
        page.cell(ROOM, two + timedelta(minutes=30))
    ).release().perform()
    assert span("14:00", "15:00") in page.find(f"{dialog}//p[@class='when']").text
    bob = bearer(stack, "bob@example.com", "employee")
    room_id = room_id_of(stack, bob, ROOM)
    booked = requests.post(
        f"{stack.gateway}/reservations",
        json={
            "room_id": room_id,
            "start_time": (two + timedelta(minutes=30)).isoformat(),
            "end_time": (two + timedelta(minutes=90)).isoformat(),
        },
        headers=bob,
        timeout=10,
    )
    assert booked.status_code == 201, booked.text
    page.button("Book", dialog)
    alert = page.find(f"{dialog}//div[@role='alert']")
    assert "This time is taken." in alert.text and span("14:30", "15:30") in alert.text
    page.check("booking-conflict")
    page.button("Cancel", dialog)
    page.wait(lambda driver: not driver.find_elements(By.XPATH, dialog))

    # A weekly meeting: three occurrences booked as one series.
    four = datetime.combine(TOMORROW, time(16), zone)
    borealis = f"Borealis {TAG}"
    ActionChains(page.driver).click_and_hold(page.cell(borealis, four)).move_to_element(
        page.cell(borealis, four + timedelta(minutes=30))
    ).release().perform()
    page.type("Purpose", "Weekly sync", dialog)
    Select(page.field("Repeat", dialog)).select_by_value("weekly")
    page.type("Number of meetings", "3", dialog)
    page.button("Book", dialog)
    page.find("//p[@role='status' and contains(., 'Borealis') and contains(., '(3 meetings)')]")

    # My reservations: change the time, then cancel with a confirmation.
    page.click("//a[normalize-space()='My reservations']")
    page.heading("My reservations")
    page.find("//li[contains(., 'Planning')]")
    page.check("my-reservations")
    page.button("Change", "//li[contains(., 'Planning')]")
    page.set_value("End", f"{TOMORROW.isoformat()}T11:30", dialog)
    page.check("change-form")
    page.button("Save changes", dialog)
    assert span("10:00", "11:30") in page.notice("Changed")
    mine = requests.get(
        f"{stack.gateway}/reservations",
        params={"room_id": str(room_id), "status": "confirmed", "per_page": "200"},
        headers=admin_headers(stack),
        timeout=10,
    ).json()["items"]
    planning = [r for r in mine if r["purpose"] == "Planning"]
    assert len(planning) == 1 and datetime.fromisoformat(planning[0]["end_time"]) == ten + timedelta(minutes=90)
    page.button("Cancel", "//li[contains(., 'Planning')]")
    page.find(f"{dialog}//h2[normalize-space()='Cancel this reservation?']")
    page.check("cancel-confirmation")
    page.button("Yes, cancel it", dialog)
    page.notice("Cancelled")
    # The list reloads: the cancelled one gone, the series' three still there.
    page.wait(
        lambda driver: (
            not driver.find_elements(By.XPATH, "//li[contains(., 'Planning')]")
            and len(driver.find_elements(By.XPATH, "//li[contains(., 'Weekly sync')]")) == 3
        )
    )

    # Phone width: the day view still works (the grid scrolls sideways).
    page.driver.set_window_size(390, 844)
    page.driver.get(f"{page.base}/app/day?date={TOMORROW.isoformat()}")
    filter_building(page)
    page.cell(ROOM, ten)
    page.check("day-view-phone")
    page.driver.set_window_size(1280, 900)

    # Three tabs open at once each trade the cookie for a token; one at a time (Web Locks), so no rotated
    # cookie is used twice (that would revoke the sign-in) and every tab, and a reload, stays signed in.
    page.driver.execute_script("for (const path of ['/app/my', '/app/day', '/app/my']) window.open(path, '_blank');")
    page.wait(lambda driver: len(driver.window_handles) == 4)
    first, *others = page.driver.window_handles
    for handle in others:
        page.driver.switch_to.window(handle)
        page.find("//button[normalize-space()='Sign out']")
        page.driver.close()
    page.driver.switch_to.window(first)
    page.driver.refresh()
    page.find("//button[normalize-space()='Sign out']")

    page.sign_out()
    # Signed out for real: the cookie's sign-in is revoked, so a reload stays signed out.
    page.driver.refresh()
    page.find("//a[normalize-space()='Sign in']")


def test_an_employee_checks_in_and_subscribes_in_her_calendar(stack: Stack, page: Page) -> None:
    """A room that requires check-in: Alice's meeting there starts in a few minutes, she checks in from My
    reservations; the "subscribe in your calendar" link (the server has a feed key) gives a URL whose feed,
    fetched without any token as a calendar app would, holds that booking."""
    admin, alice = admin_headers(stack), bearer(stack, "alice@example.com", "employee")
    lyra = f"Lyra {TAG}"
    body = {"name": lyra, "capacity": 4, "building": BUILDING, "timezone": VIEWER_ZONE, "requires_check_in": True}
    created = requests.post(f"{stack.gateway}/rooms", json={**body, "check_in_minutes": 15}, headers=admin, timeout=10)
    assert created.status_code == 201, created.text
    # Check-in opens 15 minutes before the start: a meeting starting in five minutes can be checked in now.
    start = (datetime.now(UTC) + timedelta(minutes=5)).replace(second=0, microsecond=0)
    purpose = f"Stand-up {TAG}"
    booking = {
        "room_id": created.json()["id"],
        "start_time": start.isoformat(),
        "end_time": (start + timedelta(minutes=30)).isoformat(),
        "purpose": purpose,
    }
    deadline = monotonic() + WAIT_S
    while (
        answer := requests.post(f"{stack.gateway}/reservations", json=booking, headers=alice, timeout=10)
    ).status_code == 422:
        assert answer.json()["type"].endswith("/unknown-room") and monotonic() < deadline, answer.text
        sleep(0.1)  # the room_created event is on its way to the booking service
    assert answer.status_code == 201, answer.text
    reservation = answer.json()
    assert reservation["checked_in_at"] is None

    page.driver.get(f"{page.base}/app/my")
    page.sign_in("alice@example.com")
    page.heading("My reservations")
    item = f"//li[contains(., {quote(lyra)})]"
    page.find(f"{item}//button[normalize-space()='Check in']")
    # Only the room that requires it offers check-in: none of her other bookings does.
    assert not page.driver.find_elements(By.XPATH, f"//li[not(contains(., {quote(lyra)}))]//button[.='Check in']")
    page.check("check-in")
    page.button("Check in", item)
    assert page.notice("Checked in").startswith(f"Checked in to {lyra}")
    page.wait(
        lambda driver: (
            "checked in" in driver.find_element(By.XPATH, item).text
            and not driver.find_elements(By.XPATH, f"{item}//button[normalize-space()='Check in']")
        )
    )
    checked = requests.get(f"{stack.gateway}/reservations/{reservation['id']}", headers=alice, timeout=10).json()
    assert checked["checked_in_at"] is not None and checked["status"] == "confirmed"
    page.check("checked-in")

    # Subscribe in your calendar: the feed URL, shown on request, serves her booking to anyone holding it.
    page.click("//details[contains(@class, 'feed')]/summary[normalize-space()='Subscribe in your calendar']")
    url = page.field("Your calendar feed").get_attribute("value") or ""
    page.check("calendar-feed")
    assert re.fullmatch(rf"{re.escape(page.base)}/calendar/feeds/[A-Za-z0-9_-]{{22,}}\.ics", url), url
    assert url == requests.get(f"{stack.gateway}/calendar/feed", headers=alice, timeout=10).json()["url"]
    feed = requests.get(url, timeout=10)
    assert feed.status_code == 200, feed.text
    assert feed.headers["Content-Type"] == "text/calendar; charset=utf-8"
    events = {str(e.get("UID")): e for e in Calendar.from_ical(feed.content).walk("VEVENT") if isinstance(e, Event)}
    event = events[f"reservation-{reservation['id']}@meeting-room-system"]
    assert (str(event.get("SUMMARY")), event.start, str(event.get("STATUS"))) == (purpose, start, "CONFIRMED")
    page.sign_out()


_TOKENS: dict[tuple[str, str], str] = {}


def bearer(stack: Stack, email: str, role: str) -> dict[str, str]:
    """A token minted once per user by the operators' CLI (a process start each, so kept)."""
    if (email, role) not in _TOKENS:
        _TOKENS[email, role] = stack.token(email, role)
    return {"Authorization": f"Bearer {_TOKENS[email, role]}"}


def admin_headers(stack: Stack) -> dict[str, str]:
    return bearer(stack, "admin@example.com", "admin")


def edit_deactivate_and_delete_rooms(stack: Stack, page: Page) -> None:
    """A policy edit (a bad opening-hours value refused beside its fieldset first), then a spare room
    deactivated and deleted, each with its confirmation."""
    dialog = "//dialog[@open]"
    page.click(f"//button[@aria-label={quote('Edit ' + ROOM)}]")
    page.click(f"{dialog}//label[normalize-space()='Always open']")
    page.type("Monday", "18:00-08:00", dialog)
    page.button("Save", dialog)
    assert page.find(f"{dialog}//span[@id='hours-error']").text
    page.click(f"{dialog}//label[normalize-space()='Always open']")
    page.type("Longest booking in minutes", "240", dialog)
    page.button("Save", dialog)
    page.notice(f"Saved {ROOM}")
    room = requests.get(
        f"{stack.gateway}/rooms/{room_id_of(stack, admin_headers(stack), ROOM)}",
        headers=admin_headers(stack),
        timeout=10,
    )
    assert (room.json()["max_duration_minutes"], room.json()["opening_hours"]) == (240, None)

    spare = f"Spare {TAG}"
    created = requests.post(
        f"{stack.gateway}/rooms", json={"name": spare, "capacity": 2}, headers=admin_headers(stack), timeout=10
    )
    assert created.status_code == 201, created.text
    page.driver.refresh()
    page.click(f"//button[@aria-label={quote('Edit ' + spare)}]")
    page.click(f"{dialog}//label[normalize-space()='Active (bookable)']")
    page.button("Save", dialog)
    page.find(f"//tr[th[normalize-space()={quote(spare)}]]/td[normalize-space()='Inactive']")
    page.click(f"//button[@aria-label={quote('Delete ' + spare)}]")
    page.find(f"{dialog}//h2[normalize-space()={quote('Delete ' + spare + '?')}]")
    page.button("Delete room", dialog)
    page.notice(f"Deleted {spare}")
    gone = requests.get(f"{stack.gateway}/rooms/{created.json()['id']}", headers=admin_headers(stack), timeout=10)
    assert gone.status_code == 404


def change_role_and_deactivate(stack: Stack, page: Page) -> None:
    email = f"carol-{TAG}@example.com"
    stack.token(email, "employee")  # the operators' CLI creates her
    page.type("Name or e-mail", f"carol-{TAG}")
    page.button("Search")
    page.find(f"//td[normalize-space()={quote(email)}]")
    Select(page.driver.find_element(By.XPATH, f"//select[@aria-label={quote('Role of ' + email)}]")).select_by_value(
        "admin"
    )
    page.notice(f"{email} is now an admin")
    page.button(f"Deactivate {email}")
    page.notice(f"{email} is deactivated")
    users = requests.get(f"{stack.gateway}/admin/users", params={"q": email}, headers=admin_headers(stack), timeout=10)
    (user,) = users.json()["items"]
    assert (user["role"], user["is_active"]) == ("admin", False)


def filter_building(page: Page) -> None:
    """Only this test's rooms: the session's stack holds the rooms of every other test too."""
    page.type("Building", BUILDING)
    page.field("Building").send_keys(Keys.TAB)
    page.find(f"//tbody/tr/th/span[normalize-space()={quote(ROOM)}]")


def neighbours(stack: Stack, zone: ZoneInfo) -> None:
    """Two more rooms in the building, one open 08:00-18:00, with other people's bookings in them."""
    admin = admin_headers(stack)
    bob = bearer(stack, "bob@example.com", "employee")
    hours = {day: [{"start": "08:00", "end": "18:00"}] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    bookings = {
        f"Atlas {TAG}": ({"capacity": 4, "opening_hours": hours}, [(9, 0, 10, 30), (15, 0, 16, 0)]),
        f"Borealis {TAG}": ({"capacity": 12, "equipment": "Video"}, [(13, 0, 14, 0)]),
    }
    for name, (fields, slots) in bookings.items():
        body = {"name": name, "building": BUILDING, "timezone": VIEWER_ZONE, **fields}
        created = requests.post(f"{stack.gateway}/rooms", json=body, headers=admin, timeout=10)
        assert created.status_code == 201, created.text
        for start_h, start_m, end_h, end_m in slots:
            booking = {
                "room_id": created.json()["id"],
                "start_time": datetime.combine(TOMORROW, time(start_h, start_m), zone).isoformat(),
                "end_time": datetime.combine(TOMORROW, time(end_h, end_m), zone).isoformat(),
                "purpose": "Someone else's meeting",
            }
            deadline = monotonic() + WAIT_S
            while (
                answer := requests.post(f"{stack.gateway}/reservations", json=booking, headers=bob, timeout=10)
            ).status_code == 422:
                assert answer.json()["type"].endswith("/unknown-room") and monotonic() < deadline, answer.text
                sleep(0.1)  # the room_created event is on its way to the booking service
            assert answer.status_code == 201, answer.text


def room_id_of(stack: Stack, headers: dict[str, str], name: str) -> int:
    rooms = requests.get(f"{stack.gateway}/rooms", params={"q": name}, headers=headers, timeout=10).json()["items"]
    (room,) = [r["id"] for r in rooms if r["name"] == name]
    return int(room)


TAG = f"web{uuid.uuid4().hex[:6]}"
ROOM = f"Orion {TAG}"
BUILDING = f"Building {TAG}"
TOMORROW = datetime.now(ZoneInfo(VIEWER_ZONE)).date() + timedelta(days=1)
