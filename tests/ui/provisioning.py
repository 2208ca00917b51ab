#!/usr/bin/env python3
"""The provisioning page (/ui/provisioning, issue 18) and the devices page's
CSV import and export in a real browser: Playwright (PyPI) driving Debian's
Chromium, headless, against a running `outpost serve`.

Run by crates/outpost/tests/ui_provisioning_e2e.rs:

    provisioning.py --base-url https://127.0.101.3:9464 --setup-token TOKEN \
        --phone-url https://127.0.101.1:4445 --phone-source 127.0.101.9 \
        --screenshots target/ui-screenshots/provisioning

First-run setup and login (admin_ui.py's), then issue 18's acceptance: a
remote-worker CSV with an error on line 3 is refused, the page shows line 3
and its column, and nothing is imported; then a valid one, and the
inventory lists the phones (and, once a phone fetched its file over HTTPS
with its User-Agent, its model). Then: the hash key shown, its replacement
refused with a wrong password (next to the field) and done with the right
one (the re-provisioning warning); the global CSV; an extra file upload;
the inventory's filters and its CSV export; an action scheduled at once
whose progress reaches "done" by htmx polling, without reloading; on the
devices page a CSV with an error on line 3 (its report) then a valid one,
and the export; the page at phone size; every form refused without its
CSRF token. On every page no console error, failed request, unexpected
HTTP error or CSP violation; a screenshot of each step under
--screenshots. Exits 1 listing every problem, 0 when there was none.
"""

import argparse
import http.client
import json
import pathlib
import ssl
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from admin_ui import CHROMIUM, CHROMIUM_ARGS, CSP_LISTENER, PASSWORD, Run, setup_and_login  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402

SECRET = "sip-secret-7000"
BAD_PHONES = (
    "MAC_ADDRESS;!sip line1 user name;sip line1 password\n"
    f"00-08-5d-84-20-61;7000;{SECRET}\n"
    f"not-a-mac;7001;{SECRET}\n"
)
GOOD_PHONES = (
    "MAC_ADDRESS;!sip line1 user name;sip line1 password\n"
    f"00-08-5d-84-20-61;7000;{SECRET}\n"
    f"00:08:5D:84:20:62;7001;{SECRET}\n"
)
BAD_DEVICES = "setside_username,setside_password,enabled\n4001,dev-secret-4001,true\n4002,dev-secret-4002,maybe\n"
GOOD_DEVICES = "setside_username,setside_password,enabled\n4001,dev-secret-4001,true\n4002,dev-secret-4002,true\n"


def csv_file(name, text):
    return {"name": name, "mimeType": "text/csv", "buffer": text.encode()}


def submit(page, form, button):
    with page.expect_navigation():
        form.get_by_role("button", name=button).click()


def inventory_rows(page):
    return page.locator("#inventory tbody tr")


def phone_fetch(args, key, mac_dashed, model):
    """A phone fetching its file: HTTPS with its User-Agent, from its own address."""
    host, port = args.phone_url.removeprefix("https://").rsplit(":", 1)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    conn = http.client.HTTPSConnection(
        host, int(port), context=context, timeout=10, source_address=(args.phone_source, 0)
    )
    mac = mac_dashed.replace("-", "").upper()
    conn.request(
        "GET",
        f"/{key}/{mac}.cfg",
        headers={"User-Agent": f"Mitel{model} MAC:{mac_dashed} V:6.3.0.1020-SIP"},
    )
    response = conn.getresponse()
    body = response.read().decode(errors="replace")
    conn.close()
    return response.status, body


def provisioning(run, page, args):
    base, watch, say, shoot = run.base, run.watch, run.say, run.shoot
    watch.step = "page"
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Provisioning").click()
    page.wait_for_url("**/ui/provisioning")
    expect(page.get_by_role("heading", level=1)).to_have_text("Phone provisioning")
    expect(page.get_by_role("link", name="Provisioning")).to_have_attribute("aria-current", "page")
    key = page.locator("#hash-key").inner_text().strip()
    assert len(key) >= 16, f"hash key {key!r}"
    expect(page.locator("#hash-warning")).to_contain_text("must be re-provisioned")
    say(f"hash key shown ({len(key)} hex digits) with the re-provisioning warning")
    shoot(page, "provisioning")

    # Issue 18's acceptance: line 3 and its column, nothing imported.
    watch.step = "remote-worker CSV with an error on line 3"
    form = page.locator("form[action='/ui/provisioning/import/phones']")
    form.get_by_label("CSV file").set_input_files(csv_file("phones.csv", BAD_PHONES))
    watch.expected_status = 422
    submit(page, form, "Import the phones (replaces every phone file)")
    watch.expected_status = None
    report = page.locator("#csv-report")
    expect(report).to_contain_text("nothing was written")
    line = report.locator("tbody tr").first
    expect(line.locator("td").nth(0)).to_have_text("line 3")
    expect(line.locator("td").nth(1)).to_have_text("column A (MAC_ADDRESS)")
    assert SECRET not in page.content(), "a password in the report"
    expect(inventory_rows(page)).to_have_count(1)
    expect(inventory_rows(page).first).to_contain_text("No phone")
    expect(page.locator("#files")).to_contain_text("No file yet")
    say(f"refused: {line.inner_text()!r}; nothing imported, the inventory is empty")
    shoot(page, "provisioning-csv-line-3")

    watch.step = "valid remote-worker CSV"
    form = page.locator("form[action='/ui/provisioning/import/phones']")
    form.get_by_label("CSV file").set_input_files(csv_file("phones.csv", GOOD_PHONES))
    submit(page, form, "Import the phones (replaces every phone file)")
    expect(page.get_by_role("status")).to_have_text(
        "The remote-worker CSV was imported: 2 phone file(s) written."
    )
    expect(inventory_rows(page)).to_have_count(2)
    expect(inventory_rows(page).nth(0)).to_contain_text("00085D842061")
    expect(inventory_rows(page).nth(1)).to_contain_text("00085D842062")
    expect(page.locator("#files")).to_contain_text("00085D842061.cfg")
    say("valid CSV imported: the inventory lists 00085D842061 and 00085D842062")
    shoot(page, "provisioning-imported")

    watch.step = "a phone fetches its file"
    status, body = phone_fetch(args, key, "00-08-5D-84-20-61", "6867i")
    assert status == 200, f"phone fetch: {status} {body[:200]}"
    assert "7000" in body, body[:300]
    page.goto(f"{base}/ui/provisioning")
    fetched = inventory_rows(page).filter(has_text="00085D842061")
    expect(fetched).to_contain_text("6867i")
    expect(inventory_rows(page).filter(has_text="00085D842062")).to_contain_text("not fetched yet")
    say("00085D842061 fetched its file: listed with model 6867i")

    watch.step = "inventory filters and export"
    filters = page.locator("#inventory-filters")
    filters.get_by_label("Model").fill("6867i")
    with page.expect_navigation():
        filters.get_by_role("button", name="Filter").click()
    expect(inventory_rows(page)).to_have_count(1)
    expect(inventory_rows(page).first).to_contain_text("00085D842061")
    href = page.get_by_role("link", name="Export CSV").get_attribute("href")
    assert href == "/ui/provisioning/inventory.csv?model=6867i", href
    export = page.request.get(f"{base}{href}")
    assert export.status == 200 and export.headers["content-type"].startswith("text/csv"), export
    text = export.text()
    assert text.startswith("mac,model,firmware"), text
    assert "00085D842061" in text and "00085D842062" not in text, text
    say("filtered on model 6867i: one phone; the export holds it alone")
    shoot(page, "provisioning-filtered")

    watch.step = "global CSV"
    page.goto(f"{base}/ui/provisioning")
    form = page.locator("form[action='/ui/provisioning/import/global']")
    form.get_by_label("Or paste the CSV").fill("PARAMETERS;VALUE\ntime server disabled;1\n")
    submit(page, form, "Import the global file (replaces aastra.cfg)")
    expect(page.get_by_role("status")).to_have_text(
        "The global CSV was imported: aastra.cfg has 1 parameter(s)."
    )
    expect(page.locator("#files")).to_contain_text("aastra.cfg")
    say("global CSV imported as aastra.cfg")

    watch.step = "extra file"
    form = page.locator("form[action='/ui/provisioning/upload']")
    form.get_by_label("Kind").select_option("extra")
    form.get_by_label("File", exact=True).set_input_files(
        {"name": "template.xml", "mimeType": "text/xml", "buffer": b"<template/>"}
    )
    submit(page, form, "Upload the file")
    expect(page.get_by_role("status")).to_contain_text("template.xml was uploaded")
    expect(page.locator("#files")).to_contain_text("template.xml")
    say("extra file template.xml uploaded")

    watch.step = "action with progress"
    page.locator("details", has_text="Schedule an action").locator("summary").click()
    form = page.locator("form[action='/ui/provisioning/actions']")
    form.get_by_label("Action").select_option("deploy")
    form.get_by_label("In", exact=True).fill("3s")
    submit(page, form, "Schedule the action")
    expect(page.get_by_role("status")).to_contain_text("was scheduled")
    row = page.locator("#actions tbody tr").filter(has_text="deploy").first
    expect(row).to_contain_text("pending")
    started = time.monotonic()
    # No reload: the fragment's polling shows it carried out.
    expect(row).to_contain_text("done", timeout=30_000)
    expect(row.locator("progress")).to_have_attribute("value", "100")
    say(f"deploy action pending, then done (100 %) by polling after {time.monotonic() - started:.1f} s")
    action_id = row.locator("td").first.inner_text().strip()
    expect(page.locator("#events")).to_contain_text(f"#{action_id}: ")
    say(f"events of action #{action_id}: {page.locator('#events li').filter(has_text=f'#{action_id}: ').last.inner_text()!r}")
    shoot(page, "provisioning-actions")

    watch.step = "hash key"
    form = page.locator("form[action='/ui/provisioning/hash']")
    form.get_by_label("Your password (confirms the new key)").fill("not-the-password")
    watch.expected_status = 401
    submit(page, form, "Generate a new hash key")
    watch.expected_status = None
    expect(page.locator("#e-password")).to_be_visible()
    expect(page.locator("#hash-key")).to_have_text(key)
    say(f"wrong password refused next to the field: {page.locator('#e-password').inner_text()!r}")
    form = page.locator("form[action='/ui/provisioning/hash']")
    form.get_by_label("Your password (confirms the new key)").fill(PASSWORD)
    submit(page, form, "Generate a new hash key")
    expect(page.get_by_role("status")).to_contain_text("every deployed phone must be re-provisioned")
    new_key = page.locator("#hash-key").inner_text().strip()
    assert new_key != key, "the key did not change"
    status, _ = phone_fetch(args, key, "00-08-5D-84-20-61", "6867i")
    assert status == 404, f"the old key still serves: {status}"
    say("new hash key generated with the warning; the old URL now gets 404")
    shoot(page, "provisioning-new-hash")

    watch.step = "action later"
    page.locator("details", has_text="Schedule an action").locator("summary").click()
    form = page.locator("form[action='/ui/provisioning/actions']")
    form.get_by_label("In", exact=True).fill("1h")
    submit(page, form, "Schedule the action")
    expect(page.locator("#actions tbody tr").first).to_contain_text("pending")
    say("a deploy scheduled in 1 h is pending, with its Cancel button")

    watch.step = "narrow"
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base}/ui/provisioning")
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > 390:
        watch.problem("layout", f"/ui/provisioning is {width} px wide at 390 px")
    shoot(page, "provisioning-narrow")
    page.set_viewport_size({"width": 1280, "height": 800})
    return new_key


def devices(run, page):
    base, watch, say, shoot = run.base, run.watch, run.say, run.shoot
    watch.step = "ICP for the devices"
    page.goto(f"{base}/ui/icps")
    form = page.locator("form[action='/ui/icps']")
    form.get_by_label("Name").fill("pbx")
    form.get_by_label("Host").fill("192.0.2.50")
    form.get_by_label("Default ICP").check()
    submit(page, form, "Add the ICP")
    expect(page.get_by_role("status")).to_contain_text("ICP pbx was added")

    watch.step = "devices CSV with an error on line 3"
    page.goto(f"{base}/ui/devices")
    section = page.locator("#device-csv")
    with page.expect_navigation():
        section.get_by_role("link", name="Import devices from CSV").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import teleworker devices from CSV")
    form = page.locator("form[action='/ui/devices/import']")
    form.get_by_label("CSV file").set_input_files(csv_file("devices.csv", BAD_DEVICES))
    watch.expected_status = 422
    submit(page, form, "Import the devices")
    watch.expected_status = None
    report = page.locator("#import-report")
    expect(report).to_contain_text("nothing was written")
    expect(report.locator("tbody tr")).to_have_count(1)
    expect(report.locator("tbody tr td").nth(0)).to_have_text("line 3")
    expect(report.locator("tbody tr td").nth(1)).to_have_text("enabled")
    assert "dev-secret-4002" not in page.content()
    say(f"devices CSV refused: {report.locator('tbody tr').inner_text()!r}")
    shoot(page, "devices-import-line-3")

    watch.step = "valid devices CSV"
    form = page.locator("form[action='/ui/devices/import']")
    form.get_by_label("Mode").select_option("create")
    form.get_by_label("Or paste the CSV").fill(GOOD_DEVICES)
    submit(page, form, "Import the devices")
    page.wait_for_url("**/ui/devices?done=devices-imported*")
    expect(page.get_by_role("status")).to_have_text(
        "The devices CSV was imported: 2 added, 0 updated, 0 unchanged."
    )
    expect(page.locator("#device-list")).to_contain_text("4001")
    expect(page.locator("#device-list")).to_contain_text("4002")
    export = page.request.get(f"{base}/ui/devices/export.csv")
    assert export.status == 200, export
    text = export.text()
    assert text.startswith("Login;NA;Password"), text
    assert "4002;4002;dev-secret-4002" in text, text
    say("2 devices imported and listed; devices_mbg.csv exported")
    shoot(page, "devices-imported")


def refused_forms(run, page, path):
    base, watch, say, shoot = run.base, run.watch, run.say, run.shoot
    page.goto(f"{base}{path}")
    count = page.locator("main form[method=post]").count()
    for i in range(count):
        watch.step = f"csrf {path} form {i}"
        page.goto(f"{base}{path}")
        watch.expected_status = 403
        with page.expect_navigation():
            page.locator("main form[method=post]").nth(i).evaluate(
                "f => { f.querySelector('input[name=csrf_token]').remove(); f.requestSubmit(); }"
            )
        watch.expected_status = None
        expect(page.get_by_role("heading", level=1)).to_have_text("Form refused")
    say(f"{count} forms of {path} refused without their CSRF token")
    return count


def cancel_pending(run, page):
    base, watch, say, shoot = run.base, run.watch, run.say, run.shoot
    watch.step = "cancel"
    page.goto(f"{base}/ui/provisioning")
    row = page.locator("#actions tbody tr").first
    expect(row).to_contain_text("pending")
    action_id = row.locator("td").first.inner_text().strip()
    with page.expect_navigation():
        row.get_by_role("button", name=f"Cancel action {action_id}").click()
    expect(page.get_by_role("status")).to_have_text(f"Action #{action_id} was cancelled.")
    row = page.locator("#actions tbody tr").first
    expect(row).to_contain_text("failed")
    expect(row).to_contain_text("cancelled by")
    say(f"pending action #{action_id} cancelled")
    shoot(page, "provisioning-cancelled")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--setup-token", required=True)
    parser.add_argument("--phone-url", required=True)
    parser.add_argument("--phone-source", required=True)
    parser.add_argument("--screenshots", required=True)
    args = parser.parse_args()
    shots = pathlib.Path(args.screenshots)
    shots.mkdir(parents=True, exist_ok=True)
    run = Run(args.base_url.rstrip("/"), shots)
    watch = run.watch

    with tempfile.TemporaryDirectory(prefix="outpost-ui-provisioning-") as profile, sync_playwright() as p:
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
        provisioning(run, page, args)
        devices(run, page)
        forms = refused_forms(run, page, "/ui/provisioning")
        forms += refused_forms(run, page, "/ui/devices/import")
        if forms < 7:
            watch.problem("csrf", f"only {forms} forms checked")
        run.shoot(page, "provisioning-form-refused")
        cancel_pending(run, page)
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
