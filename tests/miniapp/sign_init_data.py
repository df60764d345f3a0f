#!/usr/bin/env python3
"""Signs Telegram Mini App init data exactly as Telegram documents it, with the standard
library only, independently of cabinet's Rust code (the tests check cabinet against it).

https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app
  data_check_string = the fields but `hash`, sorted by name, "name=value" joined by "\n"
  secret_key        = HMAC_SHA256(key="WebAppData", message=bot_token)
  hash              = hex(HMAC_SHA256(key=secret_key, message=data_check_string))

Prints the init data (a URL-encoded query string with the hash last) on standard output.
The bot token is read from --token or the environment variable BOT_TOKEN.
"""

import argparse
import hashlib
import hmac
import json
import os
import sys
import urllib.parse


def sign(fields, bot_token):
    check = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    digest = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    pairs = sorted(fields.items()) + [("hash", digest)]
    return urllib.parse.urlencode(pairs, quote_via=urllib.parse.quote)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--token", default=os.environ.get("BOT_TOKEN"))
    p.add_argument("--auth-date", type=int, required=True)
    p.add_argument("--user-id", type=int, required=True)
    p.add_argument("--first-name", default="")
    p.add_argument("--language", default=None)
    p.add_argument("--query-id", default=None)
    args = p.parse_args()
    if not args.token:
        sys.exit("a bot token is needed (--token or BOT_TOKEN)")
    user = {"id": args.user_id, "first_name": args.first_name}
    if args.language:
        user["language_code"] = args.language
    fields = {
        "auth_date": str(args.auth_date),
        "user": json.dumps(user, ensure_ascii=False, separators=(",", ":"), sort_keys=True),
    }
    if args.query_id:
        fields["query_id"] = args.query_id
    print(sign(fields, args.token))


if __name__ == "__main__":
    main()
