"""An SMTP server for the email tests: accepts every message on 127.0.0.1 (a free port,
printed as `listening on PORT`) and appends it to the file named by the first argument as one
JSON line: {"from", "to", "data"}."""

import json
import socket
import sys
import time

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, path):
        self.path = path

    async def handle_DATA(self, server, session, envelope):
        record = {
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "data": envelope.content.decode("utf8", errors="replace"),
        }
        with open(self.path, "a", encoding="utf8") as out:
            out.write(json.dumps(record) + "\n")
        return "250 Message accepted"


def main():
    # The controller can't listen on port 0 (it connects to itself to start), so take a free
    # port from the kernel first.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Sink(sys.argv[1]), hostname="127.0.0.1", port=port)
    controller.start()
    print(f"listening on {port}", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
