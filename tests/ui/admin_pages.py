#!/usr/bin/env python3
"""The admin web UI's certificates, administrators and API tokens, and audit
pages in a real browser (issue 18): Playwright (PyPI) driving Debian's
Chromium, headless, against a running `outpost serve`.

Run by crates/outpost/tests/ui_admin_pages_e2e.rs, which starts Outpost and
makes the certificate files:

    admin_pages.py --base-url https://127.0.102.3:9464 --setup-token TOKEN \
        --pem-file chain-and-key.pem --p12-file portal.p12 --p12-password PASS \
        --acme-directory https://127.0.102.9:14000/dir \
        --screenshots target/ui-screenshots/admin_pages

After the first-run setup and login (tests/ui/admin_ui.py's): a PEM import
refused next to its field, then a PEM certificate imported, assigned to
web-services and seen listed there; a PKCS#12 file uploaded; its delete
refused while in use, the message shown; an ACME request to a CA that does
not answer, listed with its state, then forgotten; an administrator added;
an API token created (its value shown once, working on the REST API), then
revoked (refused from then on); the audit log filtered by `certificate.`
and paged; the three pages at phone size; every form of them refused
without its CSRF token. On every page: no console error, no failed
request, no unexpected HTTP error, no CSP violation; a screenshot of each
under --screenshots. Prints one JSON line per step; exits 1 listing every
problem.
"""

import argparse
import json
import pathlib
import sys
import tempfile

from playwright.sync_api import expect, sync_playwright

# Import the shared helpers without leaving a __pycache__ in the tree.
sys.dont_write_bytecode = True
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from admin_ui import CHROMIUM, CHROMIUM_ARGS, CSP_LISTENER, Run, setup_and_login  # noqa: E402

PAGES = ("/ui/certificates", "/ui/admins", "/ui/audit")


def certificates(run, page, args):
    base, watch, say, shoot = run.base, run.watch, run.say, run.shoot
    watch.step = "certificates"
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Certificates").click()
    page.wait_for_url("**/ui/certificates")
    expect(page.get_by_role("heading", level=1)).to_have_text("Certificates")
    expect(page.get_by_role("link", name="Certificates")).to_have_attribute("aria-current", "page")
    listed = page.locator("#certificate-list tbody tr").count()
    shoot(page, "certificates-before")

    # A refused import: the message next to the PEM field, nothing installed.
    watch.step = "import refused"
    pem_form = page.locator("#import-pem")
    pem_form.locator("summary").click()
    pem_form.get_by_label("Name").fill("company")
    pem_form.get_by_label("Certificate chain and private key (PEM)").fill("this is not a certificate")
    watch.expected_status = 422
    pem_form.get_by_role("button", name="Import the PEM certificate").click()
    page.wait_for_load_state()
    watch.expected_status = None
    expect(page.locator("#e-pem")).to_be_visible()
    expect(page.locator("#e-pem")).to_contain_text("certificate refused")
    expect(page.locator("#certificate-list tbody tr")).to_have_count(listed)
    expect(page.locator("#cert-company")).to_have_count(0)
    say("a refused PEM import is shown next to its field; nothing installed")
    shoot(page, "certificates-import-refused")

    watch.step = "import PEM"
    pem = pathlib.Path(args.pem_file).read_text()
    pem_form = page.locator("#import-pem")
    expect(pem_form).to_have_attribute("open", "")
    expect(pem_form.get_by_label("Name")).to_have_value("company")
    pem_form.get_by_label("Certificate chain and private key (PEM)").fill(pem)
    pem_form.get_by_role("button", name="Import the PEM certificate").click()
    page.wait_for_url("**/ui/certificates?done=certificate-imported&name=company")
    expect(page.get_by_role("status")).to_contain_text("Certificate company was imported")
    row = page.locator("#cert-company")
    expect(row).to_contain_text("sbc.example.test")
    expect(row).to_contain_text("UI Test CA")
    expect(row).to_contain_text("days left")
    expect(row).to_contain_text("none")
    say("PEM certificate company imported and listed")

    watch.step = "assign"
    page.locator("#assign-web-services").get_by_label("web-services").fill("company, default")
    page.get_by_role("button", name="Assign to web-services").click()
    page.wait_for_url("**/ui/certificates?done=certificates-assigned&name=web-services")
    expect(page.get_by_role("status")).to_contain_text("web-services now presents")
    expect(page.locator("#cert-company")).to_contain_text("web-services")
    expect(page.locator("#assign-web-services").get_by_label("web-services")).to_have_value("company, default")
    say("company assigned to web-services, first")
    shoot(page, "certificates-assigned")

    watch.step = "import PKCS#12"
    p12_form = page.locator("#import-pkcs12")
    p12_form.locator("summary").click()
    p12_form.get_by_label("Name").fill("portal")
    p12_form.get_by_label("PKCS#12 file").set_input_files(args.p12_file)
    p12_form.get_by_label("File password").fill(args.p12_password)
    p12_form.get_by_role("button", name="Import the PKCS#12 file").click()
    page.wait_for_url("**/ui/certificates?done=certificate-imported&name=portal")
    expect(page.locator("#cert-portal")).to_contain_text("sbc.example.test")
    if args.p12_password in page.content():
        watch.problem("secret", "the PKCS#12 password is in the page")
    say("PKCS#12 file portal uploaded and listed")

    watch.step = "delete in use"
    watch.expected_status = 409
    page.locator("#cert-company").get_by_role("button", name="Delete company").click()
    page.wait_for_load_state()
    watch.expected_status = None
    expect(page.locator("#certificates-refused")).to_contain_text("web-services")
    expect(page.locator("#cert-company")).to_be_visible()
    say("deleting company, in use, is refused with the service's message")
    shoot(page, "certificates-delete-refused")
    page.locator("#cert-portal").get_by_role("button", name="Delete portal").click()
    page.wait_for_url("**/ui/certificates?done=certificate-deleted&name=portal")
    expect(page.locator("#cert-portal")).to_have_count(0)
    say("portal, unused, deleted")

    watch.step = "acme"
    acme = page.locator("#acme-request")
    acme.locator("summary").click()
    expect(acme.get_by_label("Let's Encrypt", exact=True)).to_be_checked()
    expect(acme.get_by_label("Let's Encrypt staging (test certificates, not trusted)")).to_be_visible()
    acme.get_by_label("Certificate name").fill("le")
    acme.get_by_label("Domains").fill("sbc.example.test")
    acme.get_by_label("Contact e-mail").fill("ops@example.test")
    acme.get_by_label("Challenge").select_option("http-01")
    acme.get_by_label("web-services").check()
    acme.get_by_label("Another ACME CA:").check()
    acme.get_by_label("Directory URL").fill(args.acme_directory)
    acme.get_by_role("button", name="Request the certificate").click()
    page.wait_for_url("**/ui/certificates?done=acme-requested&name=le")
    request = page.locator("#acme-le")
    expect(request).to_contain_text("sbc.example.test")
    # The gateway tries within seconds; its CA does not answer: failed, with
    # the error and the next try.
    for _ in range(30):
        page.goto(f"{base}/ui/certificates")
        if "failed" in request.inner_text():
            break
        page.wait_for_timeout(1000)
    expect(request).to_contain_text("failed")
    expect(request).to_contain_text("GMT")
    say("ACME request le listed: " + " ".join(request.inner_text().split()))
    shoot(page, "certificates-acme")
    request.get_by_role("button", name="Renew now le").click()
    page.wait_for_url("**/ui/certificates?done=certificate-renew-asked&name=le")
    page.locator("#acme-le").get_by_role("button", name="Forget le").click()
    page.wait_for_url("**/ui/certificates?done=acme-forgotten&name=le")
    expect(page.locator("#acme-le")).to_have_count(0)
    say("ACME request renewed, then forgotten")


def admins(run, page):
    base, watch, say, shoot = run.base, run.watch, run.say, run.shoot
    watch.step = "admins"
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Administrators").click()
    page.wait_for_url("**/ui/admins")
    expect(page.get_by_role("heading", level=1)).to_have_text("Administrators and API tokens")
    add = page.locator("#add-admin")
    add.locator("summary").click()
    add.get_by_label("Account name").fill("bob")
    add.get_by_label("Account password", exact=True).fill("bob-ui-password-1234")
    add.get_by_label("Account password again").fill("bob-ui-password-1234")
    add.get_by_label("Role").select_option("read-only")
    add.get_by_role("button", name="Add the account").click()
    page.wait_for_url("**/ui/admins?done=admin-created&name=bob")
    expect(page.locator("#admin-bob")).to_contain_text("read-only")
    say("read-only account bob added")
    shoot(page, "admins")

    watch.step = "token"
    form = page.locator("#add-token")
    form.locator("summary").click()
    form.get_by_label("Token name").fill("ci")
    form.get_by_label("certificates").select_option("write")
    form.get_by_label("webservices").select_option("read")
    form.get_by_label("Expires in (days)").fill("30")
    form.get_by_role("button", name="Create the token").click()
    page.wait_for_load_state()
    shown = page.locator("#new-token")
    expect(shown).to_be_visible()
    token = shown.input_value()
    assert token.startswith("outpost_"), token
    expect(page.locator("#token-created")).to_contain_text("shown this once")
    shoot(page, "admins-token-created")
    api = page.context.request
    answer = api.get(f"{base}/api/v1/certificates", headers={"Authorization": f"Bearer {token}"})
    if answer.status != 200:
        watch.problem("token", f"the new token got {answer.status} on /api/v1/certificates")
    page.goto(f"{base}/ui/admins")
    if token in page.content():
        watch.problem("token", "the token's value is shown a second time")
    row = page.locator("#token-list tbody tr").filter(has_text="ci")
    expect(row).to_contain_text("certificates:write, webservices:read")
    expect(row).to_contain_text("active")
    say("token ci created, shown once, works on the REST API")

    row.get_by_role("button", name="Revoke ci").click()
    page.wait_for_url("**/ui/admins?done=token-revoked&name=ci")
    expect(page.get_by_role("status")).to_contain_text("API token ci was revoked")
    expect(page.locator("#token-list tbody tr").filter(has_text="ci")).to_contain_text("revoked")
    answer = api.get(f"{base}/api/v1/certificates", headers={"Authorization": f"Bearer {token}"})
    if answer.status != 401:
        watch.problem("token", f"the revoked token got {answer.status}, not 401")
    say("token ci revoked; refused from then on")
    shoot(page, "admins-token-revoked")


def audit(run, page):
    base, watch, say, shoot = run.base, run.watch, run.say, run.shoot
    watch.step = "audit"
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Audit").click()
    page.wait_for_url("**/ui/audit")
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit log")
    expect(page.locator("#audit-list")).to_contain_text("token.revoke")
    shoot(page, "audit")
    page.get_by_label("Action").fill("certificate.")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**/ui/audit?*action=certificate.*")
    actions = page.locator("#audit-list tbody tr td code").all_inner_texts()
    if not actions or any(not a.startswith("certificate.") for a in actions):
        watch.problem("audit", f"the certificate. filter shows {actions}")
    for expected in ("certificate.import", "certificate.assign", "certificate.delete",
                     "certificate.acme_request", "certificate.acme_forget"):
        if expected not in actions:
            watch.problem("audit", f"{expected} missing from {actions}")
    # Newest first.
    ids = [int(i) for i in page.locator("#audit-list tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.id)")]
    if ids != sorted(ids, reverse=True):
        watch.problem("audit", f"not newest first: {ids}")
    forget = page.locator("#audit-list tbody tr").filter(has=page.locator("code", has_text="certificate.acme_forget"))
    forget.get_by_text("Show").click()
    expect(forget.locator("pre").first).to_contain_text('"name": "le"')
    say(f"audit filtered by certificate.: {len(actions)} entries, newest first")
    shoot(page, "audit-certificate")
    # A time range the wrong way round: the message next to its field.
    page.get_by_label("From (UTC)").fill("2030-01-02")
    page.get_by_label("Until (UTC)").fill("2030-01-01")
    watch.expected_status = 422
    page.get_by_role("button", name="Filter").click()
    page.wait_for_load_state()
    watch.expected_status = None
    expect(page.locator("#e-since")).to_be_visible()
    page.get_by_role("link", name="Clear").click()
    page.wait_for_url(f"{base}/ui/audit")
    say("a range the wrong way round is refused next to its field")


def narrow_and_csrf(run, page):
    base, watch, say, shoot = run.base, run.watch, run.say, run.shoot
    page.set_viewport_size({"width": 390, "height": 844})
    for href in PAGES:
        watch.step = f"narrow {href}"
        page.goto(f"{base}{href}")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 390:
            watch.problem("layout", f"{href} is {width} px wide at 390 px")
        shoot(page, "narrow-" + href.strip("/").replace("/", "-"))
    page.set_viewport_size({"width": 1280, "height": 800})

    refused = 0
    for href in PAGES:
        page.goto(f"{base}{href}")
        count = page.locator("form[method=post]").count()
        for i in range(count):
            watch.step = f"csrf {href} form {i}"
            page.goto(f"{base}{href}")
            action = page.locator("form[method=post]").nth(i).get_attribute("action")
            if action == "/ui/logout":
                continue
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
    if refused < 10:
        watch.problem("csrf", f"only {refused} forms checked")
    # Nothing was done by them: still logged in, company still there.
    watch.step = "after refusals"
    page.goto(f"{base}/ui/certificates")
    expect(page.locator("#cert-company")).to_be_visible()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--setup-token", required=True)
    parser.add_argument("--screenshots", required=True)
    parser.add_argument("--pem-file", required=True)
    parser.add_argument("--p12-file", required=True)
    parser.add_argument("--p12-password", required=True)
    parser.add_argument("--acme-directory", required=True)
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
        certificates(run, page, args)
        admins(run, page)
        audit(run, page)
        narrow_and_csrf(run, page)
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
