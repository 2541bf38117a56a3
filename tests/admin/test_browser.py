"""A real browser walks the operator's path: log in, find an order, follow it to its deposit
event, open chain states and the migrations console. Screenshots land in ``artifacts/``.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them). Without them the
test is skipped, unless ``LEDGERFLOW_REQUIRE_BROWSER=1`` (set by CI) makes that a failure.
"""

import os
import shutil
from pathlib import Path

import pytest
from django.urls import reverse

from tests.factories import (
    STAFF_PASSWORD,
    AccountFactory,
    ChainStateFactory,
    DepositEventFactory,
    OrderFactory,
    StaffUserFactory,
    UserFactory,
)

pytestmark = pytest.mark.process

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "artifacts"
CHROMIUM = Path(os.environ.get("LEDGERFLOW_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("LEDGERFLOW_CHROMEDRIVER", "/usr/bin/chromedriver"))


@pytest.fixture
def browser():
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        message = f"needs {CHROMIUM} and {CHROMEDRIVER} (apt-get install chromium chromium-driver)"
        if os.environ.get("LEDGERFLOW_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1400,1000",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.implicitly_wait(5)
    try:
        yield driver
    finally:
        driver.quit()


def navigate(driver, action):
    """Run ``action`` (a click or submit) and wait until the next page has replaced this one.

    Without the wait, a lookup can find an element of the old page and go stale under it.
    """
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    old_page = driver.find_element(By.TAG_NAME, "html")
    action()
    WebDriverWait(driver, 15).until(expected_conditions.staleness_of(old_page))


# The pages docs/ADMIN.md shows; LEDGERFLOW_REFRESH_SCREENSHOTS=1 writes them there too.
DOCUMENTED = {"index", "orders", "order", "migrations-console", "v2-cutoverreject"}
DOCS_SCREENSHOTS = REPO_ROOT / "docs" / "screenshots"


def screenshot(driver, name):
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"admin-{name}.png"
    assert driver.save_screenshot(str(path)), f"could not save {path}"
    if name in DOCUMENTED and os.environ.get("LEDGERFLOW_REFRESH_SCREENSHOTS") == "1":
        DOCS_SCREENSHOTS.mkdir(exist_ok=True)
        shutil.copyfile(path, DOCS_SCREENSHOTS / f"{name}.png")
    return path


def test_an_operator_follows_an_order_to_its_deposit_and_opens_the_console(live_server, browser):
    from selenium.webdriver.common.by import By

    staff = StaffUserFactory(is_superuser=True)
    order = OrderFactory(order_id="ord-browser-1")
    OrderFactory(order_id="ord-browser-2")
    event = DepositEventFactory(order_id="ord-browser-1", chain_id=8453, block_number=777)
    ChainStateFactory(chain_id=8453, last_scanned_block=999_001)

    browser.get(live_server.url + reverse("admin:login"))
    browser.find_element(By.NAME, "username").send_keys(staff.username)
    browser.find_element(By.NAME, "password").send_keys(STAFF_PASSWORD)
    navigate(browser, browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click)
    assert browser.current_url == live_server.url + reverse("admin:index")
    assert browser.find_element(By.ID, "site-name").text == "LedgerFlow operations"
    screenshot(browser, "index")

    browser.get(live_server.url + reverse("admin:orders_order_changelist"))
    search = browser.find_element(By.ID, "searchbar")
    search.send_keys(order.order_id)
    navigate(browser, search.submit)
    rows = browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")
    assert len(rows) == 1
    navigate(browser, rows[0].find_element(By.LINK_TEXT, order.order_id).click)
    assert order.order_id in browser.find_element(By.ID, "content").text
    screenshot(browser, "order")

    navigate(browser, browser.find_element(By.CSS_SELECTOR, "a.deposit-event-link").click)
    assert browser.current_url.endswith(
        reverse("admin:indexer_depositevent_change", args=[event.pk])
    )
    assert event.transaction_hash in browser.page_source
    assert browser.find_element(By.CSS_SELECTOR, "a.order-link").text.startswith(order.order_id)

    browser.get(live_server.url + reverse("admin:index"))
    navigate(browser, browser.find_element(By.LINK_TEXT, "Chain states").click)
    assert "999001" in browser.find_element(By.ID, "result_list").text
    screenshot(browser, "chain-states")
    navigate(browser, browser.find_element(By.LINK_TEXT, "8453").click)
    # Styled as every detail page: forms.css gives the labels their column.
    label = browser.find_element(By.CSS_SELECTOR, "#readonly-fields label")
    assert label.value_of_css_property("width") == "160px"
    screenshot(browser, "chain-state")

    browser.get(live_server.url + reverse("admin:index"))
    navigate(browser, browser.find_element(By.LINK_TEXT, "Migrations").click)
    assert "every migration is applied" in browser.find_element(By.ID, "at-head").text
    assert "free" in browser.find_element(By.ID, "feature-lock").text
    path = screenshot(browser, "migrations-console")
    assert path.stat().st_size > 10_000


def test_the_browser_is_refused_the_console_without_a_login(live_server, browser):
    browser.get(live_server.url + reverse("admin:migrations_console"))
    assert reverse("admin:login") in browser.current_url
    assert browser.find_element("name", "username")


def overflowing_columns(driver):
    """Headers of ``#result_list`` that end right of the visible part of the list."""
    return driver.execute_script(
        """
        const box = document.querySelector('#changelist .results').getBoundingClientRect();
        return [...document.querySelectorAll('#result_list thead th')]
            .filter(th => th.getBoundingClientRect().right > box.right + 1)
            .map(th => th.innerText.trim());
        """
    )


def test_every_list_column_fits_at_1400_px_with_the_sidebar_open(live_server, browser):
    from selenium.webdriver.common.by import By

    staff = StaffUserFactory(is_superuser=True)
    # Widths as in production: 78-digit amounts (the contract's maximum), Telegram ids that link
    # to users, 64-digit transaction hashes, large block numbers.
    for n in range(3):
        OrderFactory(
            order_id=f"ord-2026-12-02-{n:06d}",
            account_id=str(7_123_456_789 + n),
            amount="9" * 78,
            status="completed",
        )
        DepositEventFactory(
            order_id=f"ord-2026-12-02-{n:06d}",
            amount="9" * 78,
            chain_id=42161,
            block_number=281_234_567 + n,
            log_index=118,
            processed=True,
        )
        UserFactory(telegram_id=7_123_456_789 + n, username=f"telegram_user_{n:04d}")
        AccountFactory(account_id=f"acct-2026-12-02-{n:06d}", telegram_id=str(7_123_456_789 + n))
    browser.get(live_server.url + reverse("admin:login"))
    browser.find_element(By.NAME, "username").send_keys(staff.username)
    browser.find_element(By.NAME, "password").send_keys(STAFF_PASSWORD)
    navigate(browser, browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click)

    for url_name, name in (
        ("admin:orders_order_changelist", "orders"),
        ("admin:indexer_depositevent_changelist", "deposit-events"),
        ("admin:users_user_changelist", "users"),
        ("admin:accounts_account_changelist", "accounts"),
    ):
        browser.get(live_server.url + reverse(url_name))
        assert browser.find_element(By.ID, "nav-sidebar").is_displayed()
        screenshot(browser, name)
        assert overflowing_columns(browser) == [], name


@pytest.fixture
def emptied_v2(transactional_db):
    """Schema v2 emptied after the test: a flush empties only the tables Django manages, and
    the ledgerflow_v2 tables are ``ledgerflow_v2``'s SQL migrations' (unmanaged models)."""
    from django.db import connection

    yield
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE ledgerflow_v2.deposit_events, ledgerflow_v2.balances, ledgerflow_v2.orders, "
            "ledgerflow_v2.chain_states, ledgerflow_v2.accounts, ledgerflow_v2.cutover_rejects, "
            "ledgerflow_v2.cutover_notes, ledgerflow_v2.cutover_runs RESTART IDENTITY"
        )


def test_the_schema_v2_lists_fit_and_a_reject_leads_to_its_v1_row(live_server, browser, emptied_v2):
    from django.db import connection
    from selenium.webdriver.common.by import By

    from ledgerflow_v2.cutover import run_cutover

    staff = StaffUserFactory(is_superuser=True)
    for n in range(3):
        order_id = f"ord-2026-12-02-{n:06d}"
        telegram_id = 7_123_456_789 + n
        UserFactory(telegram_id=telegram_id, username=f"telegram_user_{n:04d}")
        AccountFactory(account_id=f"acct-2026-12-02-{n:06d}", telegram_id=str(telegram_id))
        OrderFactory(
            order_id=order_id, account_id=str(telegram_id), amount="9" * 78, status="completed"
        )
        DepositEventFactory(
            order_id=order_id, amount="9" * 78, chain_id=42161, block_number=281_234_567 + n
        )
    rejected = OrderFactory(
        order_id="ord-2026-12-02-decimal", account_id="7123456789", amount="1.5"
    )
    run_cutover(connection, accept_rejects=True)

    browser.get(live_server.url + reverse("admin:login"))
    browser.find_element(By.NAME, "username").send_keys(staff.username)
    browser.find_element(By.NAME, "password").send_keys(STAFF_PASSWORD)
    navigate(browser, browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click)
    assert "Schema v2 — orders" in browser.find_element(By.ID, "content-main").text

    for model_name in (
        "order",
        "account",
        "balance",
        "depositevent",
        "cutoverreject",
        "cutovernote",
    ):
        browser.get(live_server.url + reverse(f"admin:schema_v2_{model_name}_changelist"))
        assert browser.find_element(By.ID, "nav-sidebar").is_displayed()
        screenshot(browser, f"v2-{model_name}s")
        assert overflowing_columns(browser) == [], model_name

    browser.get(live_server.url + reverse("admin:schema_v2_cutoverreject_changelist"))
    navigate(browser, browser.find_element(By.LINK_TEXT, "ord-2026-12-02-decimal").click)
    assert "cutover_v2 --redo" in browser.find_element(By.CLASS_NAME, "rerun-hint").text
    screenshot(browser, "v2-cutoverreject")
    navigate(browser, browser.find_element(By.CSS_SELECTOR, "a.v1-row-link").click)
    assert browser.current_url.endswith(reverse("admin:orders_order_change", args=[rejected.pk]))
