#!/usr/bin/env python3
"""The settings page (/ui/settings, issue 18 "General parameters") in a real
browser: Playwright (PyPI) driving Debian's Chromium, headless, against a
running `outpost serve` whose environment pins some settings.

Run by crates/outpost/tests/ui_settings_e2e.rs:

    settings.py --base-url https://127.0.98.3:9464 --setup-token TOKEN \
        --screenshots target/ui-screenshots/settings

First-run setup and login (admin_ui.py's), then: every group of the
registry listed; a value pinned by the environment (admin.listen) shown
read-only with its variable; a live setting (media.timeout_secs) changed
and shown with the notice "applied live"; a setting needing a restart
(web.port) changed with "restart needed"; an invalid
port refused with the service's message (naming its bounds) next to its
field, the value kept in the field; a reset to the default; the page at
phone size; every form of the page refused without its CSRF token. On
every page no console error, failed request, unexpected HTTP error or CSP
violation; a screenshot of each step under --screenshots. Exits 1 listing
every problem, 0 when there was none.
"""

import argparse
import json
import pathlib
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from admin_ui import CHROMIUM, CHROMIUM_ARGS, CSP_LISTENER, Run, setup_and_login  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402


def row(page, key):
    return page.locator(f'tr[data-key="{key}"]')


def set_value(page, key, value):
    r = row(page, key)
    field = r.locator(f'[id="v-{key}"]')
    if field.evaluate("e => e.tagName") == "SELECT":
        field.select_option(value)
    else:
        field.fill(value)
    with page.expect_navigation():
        r.get_by_role("button", name=f"Set {key}", exact=True).click()


def settings(run, page):
    base, watch, say, shoot = run.base, run.watch, run.say, run.shoot
    watch.step = "settings"
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Settings").click()
    page.wait_for_url("**/ui/settings")
    expect(page.get_by_role("heading", level=1)).to_have_text("General parameters")
    expect(page.get_by_role("link", name="Settings")).to_have_attribute("aria-current", "page")
    for heading in ("General (NET-4, NET-5)", "Public side", "SIP (SIG)", "Media (MED)",
                    "Security (DoS, DDoS, brute force)", "Logs"):
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
    rows = page.locator("tr[data-key]").count()
    assert rows > 50, f"{rows} settings listed"
    say(f"{rows} settings listed in their groups")
    shoot(page, "settings")

    watch.step = "pinned"
    pinned = row(page, "admin.listen")
    expect(pinned.locator("[data-role=source]")).to_have_text("environment")
    expect(pinned).to_contain_text("pinned by the environment variable OUTPOST_ADMIN_LISTEN")
    assert pinned.locator("form").count() == 0, "a pinned value has no change form"
    say("admin.listen read-only, pinned by OUTPOST_ADMIN_LISTEN")

    watch.step = "live change"
    timeout = row(page, "media.timeout_secs")
    expect(timeout.locator("[data-role=apply]")).to_have_text("live")
    expect(timeout.locator("[data-role=value]")).to_have_text("60")
    set_value(page, "media.timeout_secs", "120")
    expect(page.get_by_role("status")).to_have_text("media.timeout_secs was changed and applied live.")
    expect(row(page, "media.timeout_secs").locator("[data-role=value]")).to_have_text("120")
    expect(row(page, "media.timeout_secs").locator("[data-role=source]")).to_have_text("database")
    say("media.timeout_secs changed to 120, applied live")
    shoot(page, "settings-live-change")

    watch.step = "restart change"
    expect(row(page, "web.port").locator("[data-role=apply]")).to_have_text("restart needed")
    set_value(page, "web.port", "8443")
    expect(page.get_by_role("status")).to_contain_text("web.port was changed; restart needed")
    expect(row(page, "web.port").locator("[data-role=value]")).to_have_text("8443")
    say("web.port changed to 8443, restart needed")

    watch.step = "invalid value"
    watch.expected_status = 422
    set_value(page, "web.port", "70000")
    watch.expected_status = None
    field = page.locator('[id="v-web.port"]')
    expect(field).to_have_value("70000")
    expect(field).to_have_attribute("aria-invalid", "true")
    error = row(page, "web.port").locator(".error")
    expect(error).to_contain_text("65535")
    expect(row(page, "web.port").locator("[data-role=value]")).to_have_text("8443")
    assert page.locator(".error").count() == 1, "one message, next to its field"
    say(f"70000 refused next to web.port: {error.inner_text()}")
    shoot(page, "settings-invalid")

    watch.step = "reset"
    page.goto(f"{base}/ui/settings")
    r = row(page, "media.timeout_secs")
    with page.expect_navigation():
        r.get_by_role("button", name="Reset media.timeout_secs to its default").click()
    expect(page.get_by_role("status")).to_contain_text("media.timeout_secs was reset to its default")
    expect(row(page, "media.timeout_secs").locator("[data-role=value]")).to_have_text("60")
    expect(row(page, "media.timeout_secs").locator("[data-role=source]")).to_have_text("default")
    say("media.timeout_secs reset to 60")
    shoot(page, "settings-reset")

    watch.step = "narrow"
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base}/ui/settings")
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > 390:
        watch.problem("layout", f"/ui/settings is {width} px wide at 390 px")
    shoot(page, "settings-narrow")
    page.set_viewport_size({"width": 1280, "height": 800})

    # Every form of the page is refused without its CSRF token: the first
    # change form, the first reset form and the logout form submitted by
    # the browser (the 403 page), every form's fields posted by fetch
    # without the token (a 403 each).
    page.goto(f"{base}/ui/settings")
    forms = page.locator("form[method=post]")
    count = forms.count()
    firsts = [
        page.locator('form[action="/ui/settings"]').first,
        page.locator('form[action="/ui/settings/reset"]').first,
        page.locator('form[action="/ui/logout"]').first,
    ]
    # A reset form shows only for a stored value: web.port has one.
    assert page.locator('form[action="/ui/settings/reset"]').count() >= 1
    for i, form in enumerate(firsts):
        watch.step = f"csrf submitted form {i}"
        page.goto(f"{base}/ui/settings")
        watch.expected_status = 403
        with page.expect_navigation():
            form.evaluate(
                "f => { f.querySelector('input[name=csrf_token]').remove(); f.requestSubmit(); }"
            )
        watch.expected_status = None
        expect(page.get_by_role("heading", level=1)).to_have_text("Form refused")
    shoot(page, "settings-form-refused")
    watch.step = "csrf every form"
    page.goto(f"{base}/ui/settings")
    watch.expected_status = 403
    statuses = page.evaluate(
        """async () => {
          const out = [];
          for (const f of document.querySelectorAll('form[method=post]')) {
            const body = new URLSearchParams(new FormData(f));
            body.delete('csrf_token');
            const r = await fetch(f.action, {method: 'POST', body, redirect: 'manual'});
            const text = await r.text();
            out.push([f.getAttribute('action'), r.status, text.includes('Form refused')]);
          }
          return out;
        }"""
    )
    watch.expected_status = None
    bad = [s for s in statuses if s[1] != 403 or not s[2]]
    assert len(statuses) == count and not bad, f"not refused: {bad}"
    say(f"{count} forms refused without their CSRF token")

    watch.step = "after refusals"
    page.goto(f"{base}/ui/settings")
    expect(row(page, "media.timeout_secs").locator("[data-role=value]")).to_have_text("60")
    expect(row(page, "web.port").locator("[data-role=value]")).to_have_text("8443")
    say("nothing changed by the refused forms")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--setup-token", required=True)
    parser.add_argument("--screenshots", required=True)
    args = parser.parse_args()
    shots = pathlib.Path(args.screenshots)
    shots.mkdir(parents=True, exist_ok=True)
    run = Run(args.base_url.rstrip("/"), shots)
    watch = run.watch

    with tempfile.TemporaryDirectory(prefix="outpost-ui-settings-") as profile, sync_playwright() as p:
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
        settings(run, page)
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
