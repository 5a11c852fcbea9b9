"""What the tests of the action buttons share: the dashboard's token, a
viewer who logs in with the form (the session cookie), and what a page's
buttons and status say."""

from __future__ import annotations

from playwright.sync_api import Page, expect

TOKEN = "s3cret-token"

#: The actions the page offers, in order (``data-action`` of its buttons).
BUTTONS_JS = """() => [...document.querySelectorAll("button[data-action]")].map((b) => b.dataset.action)"""


def log_in(page: Page, base_url: str) -> None:
    """Log ``page``'s browser context in through the login form."""
    response = page.goto(f"{base_url}/login")
    assert response is not None and response.status == 200
    page.locator("input[name=token]").fill(TOKEN)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()
    expect(page.locator("#jt-live")).to_be_attached()
    assert "/login" not in page.url


def buttons(page: Page) -> list[str]:
    return list(page.evaluate(BUTTONS_JS))
