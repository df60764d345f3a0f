#!/usr/bin/env python3
"""A tiny backend for cabinet's HTTP contract (docs/backend-api.yaml), standard library only.

It serves a few operations for two customers: the customer by phone, the profile, the
account, the transactions and the business facts. Everything else answers 404, which
cabinet reads as "none". Requests must be signed with the shared secret (CABINET_SECRET).

    CABINET_SECRET=change-me python3 server.py --port 8080
"""

import argparse
import hashlib
import hmac
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

MAX_SKEW_SECONDS = 300

CUSTOMERS = {
    "C-1001": {
        "id": "C-1001",
        "name": "Ерлан Ахметов",
        "first_name": "Ерлан",
        "phone": "+77011234567",
        "email": "erlan@example.kz",
        "locale": "ru",
        "tags": ["vip"],
    },
    "C-1002": {
        "id": "C-1002",
        "name": "John Carter",
        "first_name": "John",
        "phone": "+447700900123",
        "locale": "en",
        "tags": [],
    },
}

ACCOUNTS = {
    "C-1001": {
        "balance": "7777",
        "currency": "KZT",
        "bonus_points": 300,
        "tariff": {"code": "optimal", "name": {"ru": "Оптимальный", "en": "Optimal"}, "monthly_fee": "890"},
        "next_charge": {"date": "2025-01-15", "amount": "890"},
    },
    "C-1002": {"balance": "120.50", "currency": "KZT"},
}

TRANSACTIONS = {
    "C-1001": [
        {
            "at": "2025-01-10T04:45:00Z",
            "amount": "3000",
            "kind": "top_up",
            "title": {"ru": "Пополнение картой", "en": "Top-up by card"},
        },
        {
            "at": "2024-12-15T00:05:00Z",
            "amount": "-890",
            "kind": "charge",
            "title": {"ru": "Тариф «Оптимальный»", "en": "Optimal plan"},
        },
    ],
}

BUSINESS = {
    "name": "Example Telecom",
    "currency": "KZT",
    "time_zone": "Asia/Almaty",
    "default_locale": "ru",
    "working_hours": {"mon-fri": "09:00-18:00"},
    "holidays": ["2025-01-01"],
    "support_hours": "09:00-21:00",
}


def signature(secret: bytes, timestamp: str, method: str, target: str, body: bytes) -> str:
    message = f"{timestamp}.{method.upper()}.{target}.".encode() + body
    return "v1=" + hmac.new(secret, message, hashlib.sha256).hexdigest()


class Handler(BaseHTTPRequestHandler):
    secret = b""

    def do_GET(self):
        self.handle_request()

    def do_POST(self):
        self.handle_request()

    def handle_request(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if not self.signed(body):
            return self.reply(401, {"error": "signature refused"})
        url = urlsplit(self.path)
        segments = [unquote(s) for s in url.path.strip("/").split("/")]
        query = parse_qs(url.query)
        if self.command == "GET":
            found = self.route(segments, query)
            if found is not None:
                return self.reply(200, found)
        self.reply(404, {"error": "not found"})

    def route(self, segments, query):
        if segments == ["customer-lookup"]:
            phone = query.get("phone", [""])[0]
            return next((c for c in CUSTOMERS.values() if c["phone"] == phone), None)
        if segments == ["business"]:
            return BUSINESS
        if len(segments) >= 2 and segments[0] == "customers":
            customer, rest = segments[1], segments[2:]
            if customer not in CUSTOMERS:
                return None
            if rest == []:
                return CUSTOMERS[customer]
            if rest == ["account"]:
                return ACCOUNTS.get(customer)
            if rest == ["transactions"]:
                limit = int(query.get("limit", ["20"])[0])
                return {"transactions": TRANSACTIONS.get(customer, [])[:limit]}
        return None

    def signed(self, body: bytes) -> bool:
        timestamp = self.headers.get("X-Cabinet-Timestamp", "")
        given = self.headers.get("X-Cabinet-Signature", "")
        try:
            if abs(time.time() - int(timestamp)) > MAX_SKEW_SECONDS:
                return False
        except ValueError:
            return False
        expected = signature(self.secret, timestamp, self.command, self.path, body)
        return hmac.compare_digest(expected, given)

    def reply(self, status: int, value):
        data = json.dumps(value, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):
        # Paths hold customer ids and phones: log the method and status only.
        sys.stderr.write(f"{self.command} -> {args[1] if len(args) > 1 else ''}\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080, help="0: any free port")
    args = parser.parse_args()
    secret = os.environ.get("CABINET_SECRET")
    if not secret:
        sys.exit("set CABINET_SECRET to the secret shared with cabinet ([backends.http] secret)")
    Handler.secret = secret.encode()
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    host, port = server.server_address[:2]
    print(f"listening on http://{host}:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
