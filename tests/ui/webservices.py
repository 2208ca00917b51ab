#!/usr/bin/env python3
"""The admin UI's web services page (issue 18, acceptance "Approve a
temporary web-services token in the UI and finish the OAuth flow with the
client of the web-services issue"): Playwright (PyPI) driving Debian's
Chromium, headless, against a running `outpost serve`, while the test runs
tests/webservices/msl_client.py (requests-oauthlib) as the application
server.

Run by crates/outpost/tests/ui_webservices_e2e.rs:

    webservices.py --base-url https://127.0.100.3:9464 --setup-token TOKEN \
        --screenshots target/ui-screenshots/webservices

Talks with the test over standard input and output, one JSON line per
step:
  1. first-run setup, login; the web services page: stopped; Start; add
     the consumer (--consumer) and read its shared secret, shown once
     (a second one with the same ID is refused next to its field);
     prints {"step": "consumer", "secret": ...} and stays on the page;
  2. reads `token TEMPORARY`: the token appears in the page by itself
     (polling, no reload); Approve; prints {"step": "approved",
     "verifier": ...} read from the page;
  3. reads `final FINAL`: the final token is listed, active, a year
     left; Renew (two years left); Revoke after its confirmation page;
     prints {"step": "revoked"};
  4. reads `refused`: every form of the page and of its confirmation
     pages is refused without its CSRF token; the page at phone size;
     prints {"done": true}.

On every page: no console error, no failed request, no HTTP error
(except the refusals expected), no CSP violation (admin_ui.py's checks);
a screenshot of each under --screenshots. Exits 1 listing every problem.
"""

import argparse
import json
import pathlib
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from admin_ui import CHROMIUM, CHROMIUM_ARGS, CSP_LISTENER, Run, setup_and_login  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402


def read_line(watch, prefix):
    """The value of the next standard input line `PREFIX VALUE`."""
    line = sys.stdin.readline().strip()
    if not line.startswith(prefix):
        watch.problem("protocol", f"expected {prefix!r} on standard input, got {line!r}")
        return None
    return line[len(prefix):].strip()


def csrf_refusals(run, page, hrefs):
    """Every POST form of these pages, sent without its CSRF token, is
    refused (403, "Form refused")."""
    watch = run.watch
    refused = 0
    for href in hrefs:
        page.goto(f"{run.base}{href}")
        count = page.locator("form[method=post]").count()
        for i in range(count):
            watch.step = f"csrf {href} form {i}"
            page.goto(f"{run.base}{href}")
            watch.expected_status = 403
            with page.expect_navigation():
                page.locator("form[method=post]").nth(i).evaluate(
                    "f => { f.querySelector('input[name=csrf_token]').remove(); f.requestSubmit(); }"
                )
            watch.expected_status = None
            expect(page.get_by_role("heading", level=1)).to_have_text("Form refused")
            refused += 1
    return refused


def scenario(run, page, args):
    base, watch, say, shoot = run.base, run.watch, run.say, run.shoot
    consumer = args.consumer

    watch.step = "web services page"
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Web services").click()
    page.wait_for_url("**/ui/webservices")
    expect(page.get_by_role("heading", level=1)).to_have_text("Web services")
    expect(page.get_by_role("link", name="Web services")).to_have_attribute("aria-current", "page")
    expect(page.locator("#ws-state")).to_contain_text("stopped")
    shoot(page, "webservices-stopped")

    watch.step = "start"
    page.get_by_role("button", name="Start the web services").click()
    page.wait_for_url("**/ui/webservices?done=ws-started")
    expect(page.get_by_role("status").first).to_contain_text("The web services are started")
    expect(page.locator("#ws-state")).to_contain_text("running")
    say("web services started")

    watch.step = "add consumer"
    page.locator("details.add summary").click()
    page.get_by_label("Consumer ID").fill(consumer)
    page.get_by_label("Name", exact=True).fill("MiVoice Office Application Suite")
    expect(page.get_by_label("Base/managetoken: the OAuth flow")).to_have_value("rw")
    expect(page.get_by_label("MBG/v1/icps: the ICPs")).to_have_value("r")
    expect(page.get_by_label("MBG/v1/devices: teleworker SIP devices")).to_have_value("rw")
    shoot(page, "webservices-add-consumer")
    page.get_by_role("button", name="Add the consumer").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Shared secret of {consumer}")
    expect(page.get_by_role("status")).to_have_text(f"Consumer {consumer} was added.")
    secret = page.locator("#shared-secret").inner_text().strip()
    if len(secret) != 40:
        watch.problem("secret", f"a 40-digit shared secret expected, got {secret!r}")
    shoot(page, "webservices-secret")
    page.get_by_role("link", name="Back to the web services").click()
    page.wait_for_url("**/ui/webservices")
    expect(page.locator("#consumers")).to_contain_text(consumer)
    if secret in page.content():
        watch.problem("secret", "the shared secret is shown again in the list")

    # The same ID again: refused next to its field.
    watch.step = "consumer refused"
    page.locator("details.add summary").click()
    page.get_by_label("Consumer ID").fill(consumer)
    page.get_by_label("Name", exact=True).fill("Again")
    watch.expected_status = 409
    page.get_by_role("button", name="Add the consumer").click()
    page.wait_for_load_state()
    watch.expected_status = None
    expect(page.locator("#e-consumer_id")).to_be_visible()
    expect(page.locator("#e-consumer_id")).to_contain_text(consumer)
    shoot(page, "webservices-consumer-refused")
    say("the consumer ID in use is refused next to its field")

    page.goto(f"{base}/ui/webservices")
    page.evaluate("document.body.dataset.loaded = 'once'")
    print(json.dumps({"step": "consumer", "consumer": consumer, "secret": secret}), flush=True)

    watch.step = "approve"
    temporary = read_line(watch, "token")
    if temporary is None:
        return
    approve = page.locator(f"#approve-{temporary}")
    # The page's polling brings the new token in, without a reload.
    expect(approve).to_be_visible(timeout=6000)
    row = page.locator(f"#temporary-tokens tr[data-token='{temporary}']")
    expect(row).to_contain_text("waiting for approval")
    expect(row).to_contain_text(consumer)
    if page.evaluate("document.body.dataset.loaded") != "once":
        watch.problem("reload", "the page reloaded")
    shoot(page, "webservices-temporary-token")
    approve.click()
    page.wait_for_url(f"**/ui/webservices?done=ws-token-approved&name={temporary}")
    expect(page.get_by_role("status").first).to_contain_text(f"Temporary token {temporary} was approved")
    verifier = page.locator("#verifier").inner_text().strip()
    expect(page.locator("#approved")).to_contain_text(consumer)
    shoot(page, "webservices-approved")
    print(json.dumps({"step": "approved", "token": temporary, "verifier": verifier}), flush=True)

    watch.step = "final token"
    final = read_line(watch, "final")
    if final is None:
        return
    page.goto(f"{base}/ui/webservices")
    row = page.locator(f"#final-tokens tr[data-token='{final}']")
    expect(row).to_contain_text("active")
    expect(row).to_contain_text("(in 365 days)")
    expect(page.locator(f"#temporary-tokens tr[data-token='{temporary}']")).to_have_count(0)
    shoot(page, "webservices-final-token")
    page.locator(f"#renew-{final}").click()
    page.wait_for_url(f"**/ui/webservices?done=ws-token-renewed&name={final}")
    expect(row).to_contain_text("(in 730 days)")
    say("final token renewed: two years left")

    watch.step = "revoke"
    page.locator(f"#revoke-{final}").click()
    page.wait_for_url(f"**/ui/webservices/tokens/revoke?token={final}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Revoke token {final}?")
    shoot(page, "webservices-revoke-confirm")
    page.get_by_role("button", name=f"Revoke the token of {consumer}").click()
    page.wait_for_url(f"**/ui/webservices?done=ws-token-revoked&name={final}")
    expect(row).to_contain_text("revoked")
    expect(page.locator(f"#revoke-{final}")).to_have_count(0)
    shoot(page, "webservices-revoked")
    print(json.dumps({"step": "revoked", "token": final}), flush=True)

    watch.step = "refused"
    if read_line(watch, "refused") is None:
        return
    # Consumer pages: edit, new secret, remove (each asks first).
    watch.step = "consumer pages"
    page.goto(f"{base}/ui/webservices")
    page.get_by_role("link", name=f"Edit {consumer}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Consumer {consumer}")
    shoot(page, "webservices-edit")
    page.goto(f"{base}/ui/webservices")
    page.get_by_role("link", name=f"Remove {consumer}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Remove consumer {consumer}?")
    shoot(page, "webservices-remove-confirm")

    refused = csrf_refusals(
        run,
        page,
        [
            "/ui/webservices",
            f"/ui/webservices/consumers/edit?consumer_id={consumer}",
            f"/ui/webservices/consumers/secret?consumer_id={consumer}",
            f"/ui/webservices/consumers/delete?consumer_id={consumer}",
        ],
    )
    say(f"{refused} forms refused without their CSRF token")
    shoot(page, "webservices-form-refused")

    watch.step = "after refusals"
    page.goto(f"{base}/ui/webservices")
    expect(page.locator("#ws-state")).to_contain_text("running")
    expect(page.locator("#consumers")).to_contain_text(consumer)

    watch.step = "narrow"
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base}/ui/webservices")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > 390:
        watch.problem("layout", f"/ui/webservices is {width} px wide at 390 px")
    shoot(page, "webservices-narrow")
    page.set_viewport_size({"width": 1280, "height": 800})


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--setup-token", required=True)
    parser.add_argument("--screenshots", required=True)
    parser.add_argument("--consumer", default="MiVOAppSuite")
    args = parser.parse_args()
    shots = pathlib.Path(args.screenshots)
    shots.mkdir(parents=True, exist_ok=True)
    run = Run(args.base_url.rstrip("/"), shots)
    watch = run.watch

    with tempfile.TemporaryDirectory(prefix="outpost-ui-ws-chromium-") as profile, sync_playwright() as p:
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
        scenario(run, page, args)
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
