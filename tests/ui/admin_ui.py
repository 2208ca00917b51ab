#!/usr/bin/env python3
"""The admin web UI in a real browser (issue 18): Playwright (PyPI) driving
Debian's Chromium, headless, against a running `outpost serve`.

Run by crates/outpost/tests/ui_e2e.rs, which starts Outpost and passes its
admin address and setup token:

    admin_ui.py --base-url https://127.0.97.3:9464 --setup-token TOKEN \
        --screenshots target/ui-screenshots/tour [--scenario tour]

Both scenarios start with the first-run setup with the token, and login.

`tour`: as an administrator would: the dashboard (its figures refresh by
themselves), add an ICP, add two devices and see them in the list (which
refreshes by itself), search, delete one after its confirmation page,
every section of the navigation, the pages at phone size, the keyboard's
first stop. Every form posted without its CSRF token must be refused
(403, "Form refused").

`registration` (--device, --device-password, --icp-user, --icp-password,
--icp): adds that device in the UI, opens the devices page and the
dashboard, prints {"step": "ready"} and waits for the line `registered` on
standard input (the test's phone has registered through Outpost); then the
device's state must read "registered" and the dashboard's count 1, each
within 3 s and without a reload; prints {"step": "registered",
"devices_ms", "dashboard_ms"}.

On every page: no console error, no failed request, no HTTP error, no
Content-Security-Policy violation (the `securitypolicyviolation` DOM
event, reported through a binding), no uncaught exception; a screenshot of
each under --screenshots. Prints one line per step; exits 1 listing every
problem, 0 when there was none.
"""

import argparse
import json
import pathlib
import sys
import tempfile
import time

from playwright.sync_api import expect, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ADMIN = "alice"
PASSWORD = "alice-ui-password-1234"
# Reported to the binding below by every page, before its own scripts run.
CSP_LISTENER = """
document.addEventListener('securitypolicyviolation', (e) => {
  window.outpostCspViolation(e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline')
    + ' at ' + e.sourceFile + ':' + e.lineNumber);
});
"""


class Watch:
    """Collects what went wrong on the pages, by step."""

    def __init__(self):
        self.step = "start"
        self.problems = []
        # While a step expects an HTTP error (a refused form), its status.
        self.expected_status = None

    def problem(self, kind, text):
        if self.expected_status is not None and kind in ("console", "http"):
            if str(self.expected_status) in text:
                return
        self.problems.append(f"[{self.step}] {kind}: {text}")

    def attach(self, page):
        page.on(
            "console",
            lambda msg: msg.type == "error"
            and self.problem("console", f"{msg.text} ({msg.location.get('url', '')})"),
        )
        page.on("pageerror", lambda err: self.problem("exception", str(err)))
        page.on(
            "requestfailed",
            lambda req: self.problem("request failed", f"{req.method} {req.url}: {req.failure}"),
        )
        page.on(
            "response",
            lambda res: res.status >= 400
            and self.problem("http", f"{res.status} {res.request.method} {res.url}"),
        )


class Run:
    """What the steps share: the address, the problems, the screenshots."""

    def __init__(self, base, shots):
        self.base = base
        self.shots = shots
        self.watch = Watch()
        self.count = 0

    def say(self, text):
        print(json.dumps({"step": self.watch.step, "ok": text}), flush=True)

    def shoot(self, page, name):
        self.count += 1
        path = self.shots / f"{self.count:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        self.say(f"screenshot {path}")


def setup_and_login(run, page, token):
    """First run: the setup page asks for the token; then the login."""
    base, watch, say, shoot = run.base, run.watch, run.say, run.shoot
    # First run: the setup page asks for the token.
    watch.step = "setup"
    page.goto(f"{base}/ui/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Create the first administrator")
    shoot(page, "setup")
    page.get_by_label("Setup token").fill(token)
    page.get_by_label("Administrator name").fill(ADMIN)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Create the account").click()
    page.wait_for_url("**/ui/login?done=setup")
    expect(page.get_by_role("status")).to_contain_text("first administrator account was created")
    say("first administrator created with the setup token")

    watch.step = "login"
    shoot(page, "login")
    # The keyboard's first stop is the skip link.
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Skip to the content")
    page.get_by_label("Name").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/ui/")
    say("logged in")


def tour(run, page):
    """Every page and form of the UI, as an administrator uses them."""
    base, watch, say, shoot = run.base, run.watch, run.say, run.shoot
    watch.step = "dashboard"
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    expect(page.locator("#sip-state")).to_contain_text("running")
    # The figures refresh by themselves, without reloading the page.
    page.evaluate("document.body.dataset.loaded = 'once'")
    with page.expect_response(lambda r: "/ui/fragments/dashboard" in r.url, timeout=5000) as polled:
        pass
    assert polled.value.status == 200, polled.value.status
    with page.expect_response(lambda r: "/ui/fragments/dashboard" in r.url, timeout=5000):
        pass
    assert page.evaluate("document.body.dataset.loaded") == "once", "the page reloaded"
    expect(page.locator("#registered-devices")).to_contain_text("0")
    say("dashboard figures polled twice without a reload")
    shoot(page, "dashboard")

    watch.step = "icps"
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="ICPs").click()
    page.wait_for_url("**/ui/icps")
    expect(page.get_by_role("link", name="ICPs")).to_have_attribute("aria-current", "page")
    shoot(page, "icps-empty")
    page.get_by_label("Name", exact=True).fill("pbx1")
    page.get_by_label("Host").fill("127.0.97.20")
    page.get_by_label("SIP port").fill("5060")
    page.get_by_label("UDP").check()
    page.get_by_role("button", name="Add the ICP").click()
    page.wait_for_url("**/ui/icps?done=icp-added&name=pbx1")
    expect(page.get_by_role("status")).to_have_text("ICP pbx1 was added.")
    expect(page.get_by_role("cell", name="127.0.97.20")).to_be_visible()
    say("ICP pbx1 added")
    shoot(page, "icps")
    # A refused value is shown next to its field.
    page.get_by_label("Name", exact=True).fill("pbx2")
    page.get_by_label("Host").fill("127.0.97.21")
    page.get_by_label("XML port on the iPBX").fill("1234")
    watch.expected_status = 422
    page.get_by_role("button", name="Add the ICP").click()
    page.wait_for_load_state()
    watch.expected_status = None
    expect(page.locator("#e-xml_destination_port")).to_be_visible()
    say("refused XML port shown next to its field")
    shoot(page, "icps-refused")

    watch.step = "devices"
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Devices").click()
    page.wait_for_url("**/ui/devices")
    for user, description in (("4001", "Desk <b>4001</b>"), ("4002", "To be removed")):
        page.locator("details.add summary").click()
        page.get_by_label("Set-side username").fill(user)
        page.get_by_label("Set-side password").fill(f"secret-{user}-pw")
        page.get_by_label("ICP", exact=True).select_option("pbx1")
        page.get_by_label("Description").fill(description)
        page.get_by_role("button", name="Add the device").click()
        page.wait_for_url(f"**/ui/devices?done=device-added&name={user}")
        expect(page.get_by_role("status")).to_have_text(f"Device {user} was added.")
    rows = page.locator("#device-list tbody tr")
    expect(rows).to_have_count(2)
    # The description is shown as typed, not as markup.
    expect(page.get_by_role("cell", name="Desk <b>4001</b>")).to_be_visible()
    expect(rows.first.locator(".badge").first).to_have_text("off")
    with page.expect_response(lambda r: "/ui/fragments/devices" in r.url, timeout=5000) as polled:
        pass
    assert polled.value.status == 200, polled.value.status
    say("devices 4001 and 4002 listed; the list refreshes by itself")
    shoot(page, "devices")

    page.get_by_label("Search").fill("desk")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/ui/devices?q=desk*")
    expect(rows).to_have_count(1)
    expect(page.locator("#device-count")).to_have_text("1 device(s).")
    say("search finds 4001 alone")
    shoot(page, "devices-search")

    page.goto(f"{base}/ui/devices")
    page.locator("#delete-4002").click()
    page.wait_for_url("**/ui/devices/delete?username=4002")
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete device 4002?")
    shoot(page, "device-delete")
    page.get_by_role("button", name="Delete 4002").click()
    page.wait_for_url("**/ui/devices?done=device-deleted&name=4002")
    expect(rows).to_have_count(1)
    say("device 4002 removed after confirmation")

    watch.step = "dashboard-again"
    page.goto(f"{base}/ui/")
    expect(page.locator("#registered-devices")).to_contain_text("0 of 1")
    expect(page.locator("#figures")).to_contain_text("icp.create")

    # Every section of the navigation answers, built or not.
    links = page.get_by_role("navigation", name="Sections").get_by_role("link")
    targets = [(links.nth(i).inner_text(), links.nth(i).get_attribute("href")) for i in range(links.count())]
    for label, href in targets:
        watch.step = f"nav {href}"
        page.goto(f"{base}{href}")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        shoot(page, "page-" + href.strip("/").replace("/", "-"))
    say(f"{len(targets)} sections visited")

    # Phone-sized screen.
    page.set_viewport_size({"width": 390, "height": 844})
    for href in ("/ui/", "/ui/devices", "/ui/icps"):
        watch.step = f"narrow {href}"
        page.goto(f"{base}{href}")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 390:
            watch.problem("layout", f"{href} is {width} px wide at 390 px")
        shoot(page, "narrow-" + (href.strip("/").replace("/", "-") or "dashboard"))
    page.set_viewport_size({"width": 1280, "height": 800})

    # Every form is refused without its CSRF token.
    refused = 0
    for href in ("/ui/", "/ui/icps", "/ui/devices", "/ui/devices/delete?username=4001"):
        page.goto(f"{base}{href}")
        count = page.locator("form[method=post]").count()
        for i in range(count):
            watch.step = f"csrf {href} form {i}"
            page.goto(f"{base}{href}")
            watch.expected_status = 403
            with page.expect_navigation():
                page.locator("form[method=post]").nth(i).evaluate(
                    "f => { f.querySelector('input[name=csrf_token]').remove(); f.requestSubmit(); }"
                )
            watch.expected_status = None
            expect(page.get_by_role("heading", level=1)).to_have_text("Form refused")
            refused += 1
    say(f"{refused} forms refused without their CSRF token")
    shoot(page, "form-refused")

    # And nothing was done by them: still logged in, 4001 still there.
    watch.step = "after refusals"
    page.goto(f"{base}/ui/devices")
    expect(rows).to_have_count(1)
    expect(page.locator("#sip-state")).to_have_count(0)
    page.goto(f"{base}/ui/")
    expect(page.locator("#sip-state")).to_contain_text("running")

    # Log out.
    watch.step = "logout"
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/ui/login?done=logout")
    page.goto(f"{base}/ui/devices")
    page.wait_for_url("**/ui/login")
    say("logged out; pages need a login again")

    # A dashboard whose session ends goes to the login page by itself (the
    # fragment answers htmx with HX-Redirect), not a login form inside it.
    watch.step = "session ends"
    page.get_by_label("Name").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/ui/")
    page.context.clear_cookies()
    page.wait_for_url("**/ui/login", timeout=5000)
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
    say("a polling dashboard whose session ended went to the login page")


def registration(run, context, page, args):
    """A device added in the UI turns registered on the devices page and
    on the dashboard, without a reload, within 3 s of its phone's
    registration (the test says when, on standard input)."""
    base, watch, say, shoot = run.base, run.watch, run.say, run.shoot
    watch.step = "add device"
    page.goto(f"{base}/ui/devices")
    page.locator("details.add summary").click()
    page.get_by_label("Set-side username").fill(args.device)
    page.get_by_label("Set-side password").fill(args.device_password)
    page.get_by_label("ICP-side username").fill(args.icp_user)
    page.get_by_label("ICP-side password").fill(args.icp_password)
    page.get_by_label("ICP", exact=True).select_option(args.icp)
    page.get_by_role("button", name="Add the device").click()
    page.wait_for_url(f"**/ui/devices?done=device-added&name={args.device}")
    badge = page.locator("#device-list tbody tr").filter(has_text=args.device).locator("[data-state]")
    expect(badge).to_have_text("off")
    page.evaluate("document.body.dataset.loaded = 'once'")
    dashboard = context.new_page()
    watch.attach(dashboard)
    dashboard.goto(f"{base}/ui/")
    expect(dashboard.locator("#registered-devices")).to_contain_text("0 of 1")
    dashboard.evaluate("document.body.dataset.loaded = 'once'")
    shoot(page, "registration-devices-before")
    shoot(dashboard, "registration-dashboard-before")
    print(json.dumps({"step": "ready", "device": args.device}), flush=True)

    watch.step = "phone registers"
    line = sys.stdin.readline().strip()
    if line != "registered":
        watch.problem("protocol", f"expected 'registered' on standard input, got {line!r}")
        return
    started = time.monotonic()
    expect(badge).to_have_text("registered", timeout=3000)
    devices_ms = round((time.monotonic() - started) * 1000)
    expect(dashboard.locator("#registered-devices")).to_contain_text("1 of 1", timeout=max(1, 3000 - devices_ms))
    dashboard_ms = round((time.monotonic() - started) * 1000)
    for p, name in ((page, "devices"), (dashboard, "dashboard")):
        if p.evaluate("document.body.dataset.loaded") != "once":
            watch.problem("reload", f"the {name} page reloaded")
    print(json.dumps({"step": "registered", "devices_ms": devices_ms, "dashboard_ms": dashboard_ms}), flush=True)
    shoot(page, "registration-devices-after")
    shoot(dashboard, "registration-dashboard-after")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--setup-token", required=True)
    parser.add_argument("--screenshots", required=True)
    parser.add_argument("--scenario", choices=["tour", "registration"], default="tour")
    parser.add_argument("--device", default="4001")
    parser.add_argument("--device-password", default="")
    parser.add_argument("--icp-user", default="")
    parser.add_argument("--icp-password", default="")
    parser.add_argument("--icp", default="")
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
        if args.scenario == "tour":
            tour(run, page)
        else:
            registration(run, context, page, args)
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
