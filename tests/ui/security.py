#!/usr/bin/env python3
"""The Security page (/ui/security, issue 18) in a real browser: Playwright
(PyPI) driving Debian's Chromium, headless, against a running `outpost
serve`.

Run by crates/outpost/tests/ui_security_e2e.rs, which starts Outpost, passes
its admin address and setup token, and floods it with SIP from a source of
its own:

    security.py --base-url https://127.0.99.3:9464 --setup-token TOKEN \
        --screenshots target/ui-screenshots/security --source 127.0.99.10

After the first-run setup and login (admin_ui.py's), the acceptance "change
the DoS threshold in the UI and see it applied; clear a deny-list entry":
- a threshold out of range is refused next to its field, nothing saved;
- an allow-list entry is added (a malformed one refused next to its field);
- the DoS threshold is lowered to 10 requests per 2 s window; prints
  {"step": "threshold-lowered"} and waits for the line `denied` on
  standard input (the test's source flooded and went unanswered);
- the source's entry appears on the deny-list by itself (htmx polling, no
  reload; prints {"step": "listed", "ms"}); every form of the page, the
  rows' included, is refused without its CSRF token and changes nothing;
  the entry is removed with its row's button; prints {"step": "cleared"}
  and waits for `admitted` (the source is answered again);
then the allow-list entry removed, the series removal and the clear form
(refused with the reason, then done), the filter, and the page at phone
size.

On every page: no console error, no failed request, no HTTP error other
than the ones a step expects, no Content-Security-Policy violation, no
uncaught exception; a screenshot of each step under --screenshots. Exits 1
listing every problem, 0 when there was none.
"""

import argparse
import json
import pathlib
import sys
import tempfile
import time

from playwright.sync_api import expect, sync_playwright

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from admin_ui import CHROMIUM, CHROMIUM_ARGS, CSP_LISTENER, Run, setup_and_login  # noqa: E402


def wait_line(run, wanted):
    """The next line of standard input, which must be `wanted`."""
    line = sys.stdin.readline().strip()
    if line != wanted:
        run.watch.problem("protocol", f"expected {wanted!r} on standard input, got {line!r}")
        return False
    return True


def expect_refused(run, page, status, submit):
    """Runs `submit`, a form post the server answers with `status`."""
    run.watch.expected_status = status
    with page.expect_navigation():
        submit()
    run.watch.expected_status = None


def security(run, page, source):
    base, watch, say, shoot = run.base, run.watch, run.say, run.shoot
    watch.step = "security page"
    nav = page.get_by_role("navigation", name="Sections")
    nav.get_by_role("link", name="Security").click()
    page.wait_for_url("**/ui/security")
    expect(page.get_by_role("heading", level=1)).to_have_text("Security")
    expect(nav.get_by_role("link", name="Security")).to_have_attribute("aria-current", "page")
    threshold = page.get_by_label("DoS threshold (requests)", exact=True)
    expect(threshold).to_have_value("500")
    expect(page.locator("#h-dos_threshold")).to_contain_text("10 to 5000; default 500")
    expect(page.locator("#deny-count")).to_contain_text("0 entries")
    shoot(page, "security")

    # Out of range: refused next to the field, nothing saved.
    watch.step = "threshold refused"
    threshold.fill("5")
    expect_refused(run, page, 422, lambda: page.get_by_role("button", name="Save the settings").click())
    expect(page.locator("#e-dos_threshold")).to_contain_text("5000")
    expect(threshold).to_have_attribute("aria-invalid", "true")
    say("a DoS threshold of 5 is refused next to its field")
    shoot(page, "threshold-refused")
    page.goto(f"{base}/ui/security")
    expect(threshold).to_have_value("500")

    # The allow-list.
    watch.step = "allow-list"
    page.locator("#f-address").fill("192.0.2.0/24")
    page.get_by_label("Note").fill("office <b>NAT</b>")
    page.get_by_role("button", name="Add to the allow-list").click()
    page.wait_for_url("**/ui/security?done=allow-added*")
    expect(page.get_by_role("status")).to_have_text("192.0.2.0/24 was added to the allow-list.")
    expect(page.get_by_role("cell", name="office <b>NAT</b>")).to_be_visible()
    expect(page.locator("#allow-count")).to_have_text("1 of 100")
    page.locator("#f-address").fill("not-an-address")
    expect_refused(run, page, 422, lambda: page.get_by_role("button", name="Add to the allow-list").click())
    expect(page.locator("#e-address")).to_be_visible()
    say("allow-list: added, a malformed address refused next to its field")
    shoot(page, "allow-list")
    page.goto(f"{base}/ui/security")

    # Lower it: 10 requests per 2 s window.
    watch.step = "threshold lowered"
    threshold.fill("10")
    page.get_by_label("DoS window (seconds)", exact=True).fill("2")
    page.get_by_role("button", name="Save the settings").click()
    page.wait_for_url("**/ui/security?done=guard-settings-saved*")
    expect(page.get_by_role("status")).to_contain_text("dos_threshold 10")
    expect(page.get_by_role("status")).to_contain_text("dos_window 2")
    expect(threshold).to_have_value("10")
    say("DoS threshold lowered to 10 per 2 s in the UI")
    shoot(page, "threshold-lowered")
    page.evaluate("document.body.dataset.loaded = 'once'")
    print(json.dumps({"step": "threshold-lowered"}), flush=True)

    watch.step = "flood denied"
    if not wait_line(run, "denied"):
        return
    started = time.monotonic()
    row = page.locator(f'#deny-list tr[data-address="{source}"]')
    expect(row).to_be_visible(timeout=10_000)
    seen_ms = round((time.monotonic() - started) * 1000)
    if page.evaluate("document.body.dataset.loaded") != "once":
        watch.problem("reload", "the security page reloaded")
    expect(row).to_contain_text("dos")
    say(f"{source} appeared on the deny-list by itself after {seen_ms} ms")
    print(json.dumps({"step": "listed", "ms": seen_ms}), flush=True)
    shoot(page, "denied")

    # Every form of the page (the rows' too) is refused without its CSRF
    # token, and changes nothing.
    refused = 0
    count = page.locator("form[method=post]").count()
    for i in range(count):
        watch.step = f"csrf form {i}"
        page.goto(f"{base}/ui/security")
        watch.expected_status = 403
        with page.expect_navigation():
            page.locator("form[method=post]").nth(i).evaluate(
                "f => { f.querySelector('input[name=csrf_token]').remove(); f.requestSubmit(); }"
            )
        watch.expected_status = None
        expect(page.get_by_role("heading", level=1)).to_have_text("Form refused")
        refused += 1
    if count < 7:
        watch.problem("csrf", f"only {count} forms on the page")
    say(f"{refused} forms refused without their CSRF token")
    shoot(page, "form-refused")
    watch.step = "entry cleared"
    page.goto(f"{base}/ui/security")
    expect(page.get_by_label("DoS threshold (requests)", exact=True)).to_have_value("10")
    expect(page.locator('#allow-list tr[data-address="192.0.2.0/24"]')).to_have_count(1)
    row = page.locator(f'#deny-list tr[data-address="{source}"]')
    expect(row).to_be_visible()
    row.get_by_role("button", name="Remove").click()
    page.wait_for_url("**/ui/security?done=deny-removed*")
    expect(page.get_by_role("status")).to_have_text(f"Removed from the deny-list: {source}.")
    expect(page.locator(f'#deny-list tr[data-address="{source}"]')).to_have_count(0)
    say(f"{source} removed from the deny-list in the UI")
    shoot(page, "cleared")
    print(json.dumps({"step": "cleared"}), flush=True)
    if not wait_line(run, "admitted"):
        return
    say(f"{source} is served again")

    watch.step = "allow-list removal"
    page.locator('#allow-list tr[data-address="192.0.2.0/24"]').get_by_role("button", name="Remove").click()
    page.wait_for_url("**/ui/security?done=allow-removed*")
    expect(page.get_by_role("status")).to_have_text("192.0.2.0/24 was removed from the allow-list.")
    expect(page.locator("#allow-list")).to_contain_text("The allow-list is empty.")
    say("allow-list entry removed")

    # Remove a series, clear.
    watch.step = "series and clear"
    page.locator("#s-address").fill("198.51.100.0/24")
    expect_refused(run, page, 404, lambda: page.get_by_role("button", name="Remove the series").click())
    expect(page.get_by_role("alert")).to_contain_text("no deny entry matches 198.51.100.0/24")
    expect(page.locator("#s-address")).to_have_value("198.51.100.0/24")
    expect_refused(run, page, 422, lambda: page.get_by_role("button", name="Clear the deny-list").click())
    expect(page.locator("#ce-confirm")).to_contain_text("tick the box")
    page.get_by_label("Yes, remove these entries").check()
    page.get_by_role("button", name="Clear the deny-list").click()
    page.wait_for_url("**/ui/security?done=deny-cleared*")
    expect(page.get_by_role("status")).to_contain_text("Deny-list cleared: 0 entries removed from both lists.")
    say("series removal and clear: each says what it did or why not")
    shoot(page, "series-and-clear")

    # The filter.
    watch.step = "filter"
    page.get_by_label("List", exact=True).select_option("bruteforce")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**/ui/security?list=bruteforce")
    expect(page.locator("#deny-count")).to_contain_text("on the brute-force list")
    say("deny-list filtered by list")

    # Phone-sized screen.
    watch.step = "narrow"
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base}/ui/security")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > 390:
        watch.problem("layout", f"/ui/security is {width} px wide at 390 px")
    shoot(page, "narrow")
    page.set_viewport_size({"width": 1280, "height": 800})


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--setup-token", required=True)
    parser.add_argument("--screenshots", required=True)
    parser.add_argument("--source", required=True)
    args = parser.parse_args()
    shots = pathlib.Path(args.screenshots)
    shots.mkdir(parents=True, exist_ok=True)
    run = Run(args.base_url.rstrip("/"), shots)
    watch = run.watch

    with tempfile.TemporaryDirectory(prefix="outpost-ui-chromium-") as profile, sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
            ignore_https_errors=True,
            viewport={"width": 1280, "height": 800},
        )
        context.expose_binding(
            "outpostCspViolation", lambda _source, text: watch.problem("CSP violation", text)
        )
        context.add_init_script(CSP_LISTENER)
        page = context.pages[0] if context.pages else context.new_page()
        watch.attach(page)
        expect.set_options(timeout=10_000)
        setup_and_login(run, page, args.setup_token)
        security(run, page, args.source)
        context.close()

    if watch.problems:
        print(json.dumps({"problems": watch.problems}), flush=True)
        for p in watch.problems:
            print(p, file=sys.stderr)
        return 1
    print(json.dumps({"done": True, "screenshots": run.count}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
