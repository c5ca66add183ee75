"""The console's "sheets with a mapping file" way in, in Chromium against a real `ontime serve`.

A dispatcher picks the template's orders (as an .xlsx written here), couriers and mapping
files and solves: the day is imported, planned and opened. With bad rows, the form lists every
one with its file, row number and column, and no plan is created. The templates can be
downloaded from the form. No page logs a console error.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest

from api.imports import TEMPLATE_FILES, TEMPLATES
from tests.console.conftest import DISPATCHER_KEY, SCREENSHOTS, Server

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("console")]

DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def page(browser: Any, server: Server) -> Iterator[Any]:
    """A dispatcher's signed-in console with the New plan form open on the sheets; fails the test
    on any console error."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport=DESKTOP, accept_downloads=True)
    errors: list[str] = []
    opened = context.new_page()
    opened.set_default_timeout(60_000)  # bounds a wait on a busy machine, no more
    opened.on("console", lambda m: errors.append(m.text) if m.type == "error" and "422" not in m.text else None)
    opened.on("pageerror", lambda e: errors.append(f"uncaught {e}"))
    opened.goto(server.base + "/console/")
    opened.locator("#key").fill(DISPATCHER_KEY)
    opened.locator("#signin-form button[type=submit]").click()
    expect(opened.locator("#who-role")).to_have_text("dispatcher")
    opened.locator("#create > summary").click()
    opened.locator("input[name=source][value=sheet]").check()
    expect(opened.locator(".source-sheet")).to_be_visible()
    expect(opened.locator(".source-csv")).to_be_hidden()
    opened.locator("#create-form input[name=time_limit_s]").fill("1")
    yield opened
    context.close()
    assert not errors, errors


def orders_xlsx(path: Path, edit: dict[tuple[int, int], str] | None = None) -> Path:
    """The template's orders as a workbook (numbers as numbers), with cells changed by (row, column)."""
    with (TEMPLATES / "orders.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = [list(r) for r in csv.reader(handle)]
    for (row, column), value in (edit or {}).items():
        rows[row - 1][column] = value
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for n, row in enumerate(rows):
        sheet.append([_number(v) if n and i in (4, 5, 8, 9, 10) else v for i, v in enumerate(row)])
    book.save(path)
    return path


def _number(text: str) -> Any:
    try:
        return float(text)
    except ValueError:
        return text


def choose(page: Any, orders: Path) -> None:
    page.locator("input[name=sheet_orders]").set_input_files(str(orders))
    page.locator("input[name=sheet_couriers]").set_input_files(str(TEMPLATES / "couriers.csv"))
    page.locator("input[name=sheet_mapping]").set_input_files(str(TEMPLATES / "mapping.toml"))


def solve(page: Any) -> str:
    """Click Solve and answer the id of the plan the console creates."""
    with page.expect_response(lambda r: r.url.endswith("/v1/plans") and r.request.method == "POST") as created:
        page.locator("#create-form button[type=submit]").click()
    assert created.value.status == 202, created.value.text()
    plan_id: str = created.value.json()["id"]
    return plan_id


def plan_ids(server: Server) -> set[str]:
    answer = httpx.get(server.base + "/v1/plans?limit=500", headers=server.headers(DISPATCHER_KEY), timeout=30)
    answer.raise_for_status()
    return {p["id"] for p in answer.json()}


def test_a_dispatcher_plans_the_day_from_an_excel_orders_sheet(page: Any, server: Server, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    choose(page, orders_xlsx(tmp_path / "orders.xlsx"))
    with page.expect_response(lambda r: r.url.endswith("/v1/imports/problem")) as imported:
        plan_id = solve(page)
    assert imported.value.status == 200, imported.value.text()
    expect(page).to_have_url(re.compile(f"#plan={plan_id}$"))
    expect(page.locator("#plan-name")).to_have_text("浦东-2026-11-26")
    expect(page.locator("#plan-status")).to_have_text("solved", timeout=60_000)
    expect(page.locator("#map circle.stop")).to_have_count(16)
    expect(page.locator("#map rect.depot")).to_have_count(1)
    expect(page.locator("#import-errors")).to_be_hidden()
    page.screenshot(path=str(SCREENSHOTS / "import-planned.png"), full_page=False)


def test_every_bad_row_is_listed_in_the_form_and_nothing_is_planned(page: Any, server: Server, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    before = plan_ids(server)
    bad = {(2, 4): "北纬31", (3, 7): "08:00", (5, 0): "YT7712345001", (9, 6): "9点"}
    choose(page, orders_xlsx(tmp_path / "orders.xlsx", bad))
    with page.expect_response(lambda r: r.url.endswith("/v1/imports/problem")) as imported:
        page.locator("#create-form button[type=submit]").click()
    assert imported.value.status == 422
    listed = page.locator("#import-errors tr.bad-row")
    expect(listed).to_have_count(4)
    expected = [("2", "纬度"), ("3", "预约结束"), ("5", "运单号"), ("9", "预约开始")]
    assert [(r.get_attribute("data-row"), r.get_attribute("data-column")) for r in listed.all()] == expected
    expect(page.locator("#import-errors h3")).to_contain_text("4 problems in 4 rows: nothing was planned")
    expect(listed.first).to_contain_text("orders.xlsx")
    expect(page.locator("#notice")).to_contain_text("nothing was planned")
    page.screenshot(path=str(SCREENSHOTS / "import-errors.png"), full_page=False)
    assert plan_ids(server) == before

    # Fixed, the same form plans it and the list goes away.
    choose(page, orders_xlsx(tmp_path / "fixed.xlsx"))
    plan_id = solve(page)
    expect(page.locator("#import-errors")).to_be_hidden()
    expect(page).to_have_url(re.compile(f"#plan={plan_id}$"))
    expect(page.locator("#plan-status")).to_have_text("solved", timeout=60_000)
    assert plan_ids(server) - before == {plan_id}


def test_the_templates_can_be_downloaded_from_the_form(page: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page.locator("#import-templates").click()
    links = page.locator("#template-links a.template")
    expect(links).to_have_count(len(TEMPLATE_FILES))
    with page.expect_download() as download:
        page.locator("#template-links a[download='mapping.toml']").click()
    saved = tmp_path / "mapping.toml"
    download.value.save_as(saved)
    assert saved.read_bytes() == (TEMPLATES / "mapping.toml").read_bytes()
