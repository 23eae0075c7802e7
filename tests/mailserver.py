"""A real SMTP server for the tests (aiosmtpd, on 127.0.0.1, a free port), receiving what the
worker sends. It can refuse every message, or hold the first one (the client waits for its
answer) until released — a worker is then mid-job, for the SIGKILL test."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Handler:
    def __init__(self) -> None:
        self.received: list[EmailMessage] = []
        self.refuse = False
        self.hold = threading.Event()  # set: hold each message, answer "try later" once released
        self.holding = threading.Event()  # set while a message is held
        self.attempts = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.attempts += 1
        if self.refuse:
            return "554 5.7.1 Refused by the test"
        if self.hold.is_set():
            self.holding.set()
            try:  # the client may be gone meanwhile (killed): the server then cancels this
                while self.hold.is_set():
                    await asyncio.sleep(0.05)
            finally:
                self.holding.clear()
            return "451 4.3.0 Held by the test, never delivered"
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        message["X-Envelope-To"] = ",".join(envelope.rcpt_tos)
        self.received.append(message)
        return "250 OK"

    def wait_for(self, count: int, timeout: float = 30.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.received


class MailServer:
    def __init__(self) -> None:
        self.handler = Handler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> MailServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.handler.hold.clear()
        self.controller.stop()

    def config(self) -> dict[str, Any]:
        return {"CANYUE_MAIL_HOST": "127.0.0.1", "CANYUE_MAIL_PORT": self.port, "CANYUE_MAIL_SECURITY": "none",
                "CANYUE_MAIL_SENDER": "canyue@example.org", "CANYUE_MAIL_TIMEOUT": 10.0,
                "CANYUE_BASE_URL": "https://canyue.example.org"}


def body_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())
