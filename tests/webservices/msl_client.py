#!/usr/bin/env python3
"""The application server of seed 003, played by requests-oauthlib (an
independent OAuth 1.0a client) against Outpost's MSL-compatible web
services. Used by crates/outpost/tests/webservices_e2e.rs and usable by
hand:

    msl_client.py https://gw.example:4445 CONSUMER_ID SHARED_SECRET --ca ca.pem

Step 2 of seed 003: request a temporary token (callback "oob"), print it,
read the verifier an administrator got by approving it (one line on
stdin), fetch the final token, then provision a teleworker SIP device
through /mslrest/mbg/v1/: create it (POST), read it, list, count, update
(PUT), find it by MAC. Each step prints one JSON line
{"step": ..., "status": ..., "body": ...}; the device is left in place
(`--delete` deletes it at the end; `--delete-on-request` waits for a
line "delete" on stdin first). Exit status 1 on any unexpected
answer.
"""

import argparse
import json
import sys

from requests_oauthlib import OAuth1Session


# Every request ends within this many seconds (the test waits longer).
TIMEOUT = 15


def call(method, url, **kwargs):
    return method(url, timeout=TIMEOUT, **kwargs)


def trusting(session, ca):
    """The session verifies the gateway with `ca` only: REQUESTS_CA_BUNDLE
    and friends in the environment would otherwise replace it."""
    session.trust_env = False
    session.verify = ca
    return session


def say(step, response):
    try:
        body = response.json()
    except ValueError:
        body = response.text
    print(json.dumps({"step": step, "status": response.status_code, "body": body}), flush=True)
    return body


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("base")
    parser.add_argument("consumer_id")
    parser.add_argument("shared_secret")
    parser.add_argument("--ca", required=True, help="CA file to verify the gateway with")
    parser.add_argument("--username", default="tw-alice")
    parser.add_argument("--password", default="Set-side-Secret-1")
    parser.add_argument("--icpside-username", default="")
    parser.add_argument("--icpside-password", default="")
    parser.add_argument("--mac", default="00:08:5D:23:74:29")
    parser.add_argument("--delete", action="store_true")
    parser.add_argument(
        "--delete-on-request",
        action="store_true",
        help='after creating the device, wait for a line on stdin: "delete" deletes it',
    )
    args = parser.parse_args()
    base = args.base.rstrip("/") + "/mslrest"

    session = trusting(
        OAuth1Session(args.consumer_id, client_secret=args.shared_secret, callback_uri="oob"),
        args.ca,
    )
    temporary = session.fetch_request_token(base + "/initiate", timeout=TIMEOUT)
    print(json.dumps({"step": "initiate", "token": temporary["oauth_token"]}), flush=True)

    verifier = sys.stdin.readline().strip()
    session = OAuth1Session(
        args.consumer_id,
        client_secret=args.shared_secret,
        resource_owner_key=temporary["oauth_token"],
        resource_owner_secret=temporary["oauth_token_secret"],
        verifier=verifier,
    )
    trusting(session, args.ca)
    final = session.fetch_access_token(base + "/token", timeout=TIMEOUT)
    print(json.dumps({"step": "token", "token": final["oauth_token"]}), flush=True)

    api = OAuth1Session(
        args.consumer_id,
        client_secret=args.shared_secret,
        resource_owner_key=final["oauth_token"],
        resource_owner_secret=final["oauth_token_secret"],
    )
    trusting(api, args.ca)
    v1 = base + "/mbg/v1"
    ok = True

    icps = say("icps", call(api.get, v1 + "/icps/"))
    ok &= isinstance(icps, dict) and len(icps.get("response", [])) >= 1
    icp = icps["response"][0]["guid"] if ok else ""
    device = {
        "clientid": args.mac,
        "description": "provisioned by the application server",
        "enabled": True,
        "icp": icp,
        "setside_username": args.username,
        "setside_password": args.password,
        "icpside_username": args.icpside_username,
        "icpside_password": args.icpside_password,
    }
    created = call(api.post, v1 + "/devices/sip/", json=device)
    body = say("create", created)
    ok &= created.status_code == 201 and "guid" in body
    guid = body.get("guid", "") if isinstance(body, dict) else ""
    read = call(api.get, f"{v1}/devices/sip/{guid}/")
    got = say("read", read)
    ok &= read.status_code == 200 and got.get("setside_username") == args.username
    listed = call(api.get, v1 + "/devices/sip/all/")
    ok &= any(d.get("guid") == guid for d in say("list", listed).get("response", []))
    counted = call(api.get, v1 + "/devices/sip/count/")
    ok &= say("count", counted).get("count", 0) >= 1
    updated = call(api.put, f"{v1}/devices/sip/{guid}/", json={"description": "updated"})
    ok &= say("update", updated).get("description") == "updated"
    by_mac = call(api.get, f"{v1}/devices/sip/{args.mac}/")
    ok &= say("by-mac", by_mac).get("guid") == guid
    if args.delete_on_request:
        # The caller uses the device (a phone registers), then says "delete".
        print(json.dumps({"step": "created", "guid": guid}), flush=True)
        args.delete = sys.stdin.readline().strip() == "delete"
    if args.delete:
        deleted = call(api.delete, f"{v1}/devices/sip/{guid}/")
        say("delete", deleted)
        ok &= deleted.status_code == 200
    print(json.dumps({"step": "done", "ok": bool(ok)}), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
