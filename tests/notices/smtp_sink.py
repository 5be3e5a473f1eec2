"""A minimal SMTP server on loopback that keeps what it is sent, for tests of
the email channel over a real connection."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field


@dataclass
class SmtpSink:
    # What a real server may do: close a connection after so many messages
    # (0: never), at the next MAIL command (a connection it had closed while
    # idle), or once a message's data is in, before it answers.
    messages_per_connection: int = 0
    hang_up_at_mail: bool = False
    hang_up_after_data: bool = False
    # Its answer to a message's data: "554 5.7.1 rejected" refuses it for good.
    answer_after_data: bytes = b"250 queued"
    # When set, it offers AUTH and answers a sign-in with this ("535 5.7.8 …"
    # refuses it); and its answer to MAIL FROM ("550 5.7.1 …" refuses the sender).
    answer_to_auth: bytes = b""
    answer_to_mail: bytes = b"250 ok"
    # Its answer to RCPT TO ("550 5.1.1 …" refuses the recipient, "451 4.7.1 …" greylists).
    answer_to_rcpt: bytes = b"250 ok"
    port: int = 0
    recipients: list[str] = field(default_factory=list)
    messages: int = 0
    connections: int = 0
    quits: int = 0
    _loop: asyncio.AbstractEventLoop | None = None
    _server: asyncio.AbstractServer | None = None

    async def _handle(self, reader, writer) -> None:
        self.connections += 1
        writer.write(b"220 sink\r\n")
        in_data, taken = False, 0
        while line := await reader.readline():
            if in_data:
                if line == b".\r\n":
                    in_data = False
                    self.messages += 1
                    taken += 1
                    if self.hang_up_after_data:
                        break
                    writer.write(self.answer_after_data + b"\r\n")
                    await writer.drain()
                    if taken == self.messages_per_connection:
                        break
                continue
            command = line[:4].upper()
            if command == b"MAIL" and self.hang_up_at_mail:
                break
            if command == b"EHLO":
                auth = b"250-AUTH PLAIN\r\n" if self.answer_to_auth else b""
                writer.write(b"250-sink\r\n" + auth + b"250 8BITMIME\r\n")
            elif command == b"AUTH":
                writer.write(self.answer_to_auth + b"\r\n")
            elif command == b"MAIL":
                writer.write(self.answer_to_mail + b"\r\n")
            elif command == b"RCPT":
                self.recipients.append(line.split(b"<", 1)[1].split(b">", 1)[0].decode())
                writer.write(self.answer_to_rcpt + b"\r\n")
            elif command == b"DATA":
                in_data = True
                writer.write(b"354 go on\r\n")
            elif command == b"QUIT":
                self.quits += 1
                writer.write(b"221 bye\r\n")
                await writer.drain()
                break
            else:
                writer.write(b"250 ok\r\n")
            await writer.drain()
        writer.close()

    def start(self) -> SmtpSink:
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            self._server = self._loop.run_until_complete(
                asyncio.start_server(self._handle, "127.0.0.1", 0)
            )
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            self._loop.run_forever()

        threading.Thread(target=run, daemon=True).start()
        ready.wait(5)
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
