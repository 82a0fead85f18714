"""Walk the membership journey against a running `make run` and photograph the dashboard.

    printf 'a long demo password\n' | .venv/bin/flask --app app staff create demo@example.com \
        --role admin --password-stdin
    .venv/bin/python tools/demo_journey.py --joins 3 --password 'a long demo password'

Drives Debian's Chromium (never a downloaded browser): N readers join through /membership and
the test-mode checkout, then a staff member signs in; prints /api/goal before and after and
saves screenshots/make-run-dashboard.png. Works only in simulated mode (no STRIPE_SECRET_KEY).
"""

from __future__ import annotations

import argparse
import json
import re
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-background-networking",
                 "--disable-component-update"]  # fmt: skip
TIERS = ["Supporter", "Member", "Annual member"]


def members(base: str) -> int:
    with urllib.request.urlopen(base + "/api/goal") as response:
        return json.load(response)["members"]


def join(page, base: str, tier: str, email: str) -> None:
    page.goto(base + "/membership")
    page.get_by_role("radio", name=re.compile(f"^{re.escape(tier)}:")).check()
    page.get_by_label("Email address", exact=True).fill(email)
    page.get_by_role("button", name="Become a member").click()
    page.wait_for_url("**/membership/simulated-checkout/**")
    page.get_by_role("button", name="Pay (test mode)").click()
    page.wait_for_url("**/membership/welcome?session_id=**")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="http://127.0.0.1:5000")
    parser.add_argument("--joins", type=int, default=3)
    parser.add_argument("--email", default="demo@example.com")
    parser.add_argument("--password", required=True)
    parser.add_argument("--out", default="screenshots/make-run-dashboard.png")
    args = parser.parse_args()

    before = members(args.base)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        stamp = int(time.time())
        for n in range(args.joins):
            join(page, args.base, TIERS[n % len(TIERS)], f"reader{stamp}-{n}@example.org")
        page.goto(args.base + "/staff/login")
        page.get_by_label("Email").fill(args.email)
        page.get_by_label("Password").fill(args.password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(args.base + "/staff/")
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=args.out, full_page=True)
        browser.close()
    print(f"members before: {before}, after: {members(args.base)}; dashboard: {args.out}")


if __name__ == "__main__":
    main()
