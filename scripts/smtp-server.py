#!/usr/bin/env python3
"""A real SMTP server for Fleet's tests (aiosmtpd from PyPI): stores each message it
accepts as a file in --dir (named by arrival order), optionally requires AUTH PLAIN with
--user/--password, and prints "ready PORT" once it listens."""
import argparse
import asyncio
import os
import signal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Store:
    def __init__(self, directory, delay):
        self.directory = directory
        self.delay = delay
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        path = os.path.join(self.directory, "%06d.eml" % self.count)
        with open(path + ".tmp", "wb") as f:
            f.write(b"X-Envelope-From: " + envelope.mail_from.encode() + b"\r\n")
            f.write(b"X-Envelope-To: " + ",".join(envelope.rcpt_tos).encode() + b"\r\n")
            f.write(envelope.original_content)
        os.rename(path + ".tmp", path)
        # A slow server: the message is stored, the answer comes later (a client cut off
        # meanwhile does not know it was delivered, and sends it again).
        if self.delay:
            await asyncio.sleep(self.delay)
        return "250 stored"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--delay", type=float, default=0, help="seconds before answering a message")
    args = parser.parse_args()

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == args.user and auth_data.password.decode() == args.password
        return AuthResult(success=ok, handled=False)

    options = {}
    if args.user:
        options = dict(authenticator=authenticate, auth_required=True, auth_require_tls=False)
    controller = Controller(Store(args.dir, args.delay), hostname="127.0.0.1", port=args.port, **options)
    controller.start()
    print("ready %d" % args.port, flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    controller.stop()


if __name__ == "__main__":
    main()
