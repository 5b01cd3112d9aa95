#!/usr/bin/env python3
"""An OSDP control panel (CP) for tests/osdp.rs: the reference library's Python
binding (PyPI `libosdp`) drives one reader (PD) on a serial port.

Talks JSON lines. Out (stdout), as things happen:
  {"status": {"online": bool, "sc": bool}}   when the link's state changes
  {"event": {...}}                           an event from the reader (card data as a
                                             list of byte values)
  {"sent": "led"|"buzzer"|"text", "ok": bool} after a command was queued
In (stdin):
  {"send": "led", ...fields}    an LED command (fields as libosdp's dict)
  {"send": "buzzer", ...}       a buzzer command
  {"send": "text", "text": "…", ...}
  {"quit": true}
"""

import argparse
import json
import os
import queue
import sys
import threading
import time

import osdp


class Pty(osdp.Channel):
    """The serial port (a pseudo-terminal in the tests), non-blocking."""

    def __init__(self, path):
        super().__init__()
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)

    def read(self, max_bytes):
        try:
            return os.read(self.fd, max_bytes)
        except (BlockingIOError, InterruptedError):
            return b""

    def write(self, buf):
        try:
            return os.write(self.fd, buf)
        except (BlockingIOError, InterruptedError):
            return 0

    def flush(self):
        pass


def out(obj):
    sys.stdout.write(json.dumps(obj, default=plain) + "\n")
    sys.stdout.flush()


def plain(v):
    if isinstance(v, (bytes, bytearray)):
        return list(v)
    return str(v)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", required=True)
    ap.add_argument("--address", type=int, default=1)
    ap.add_argument("--key", help="secure-channel base key, 32 hex digits")
    ap.add_argument("--strict", action="store_true", help="the panel enforces the secure channel")
    args = ap.parse_args()

    flags = [osdp.LibFlag.EnforceSecure] if args.strict else []
    scbk = bytes.fromhex(args.key) if args.key else None
    info = osdp.PDInfo(args.address, Pty(args.port), scbk=scbk, flags=flags, name="reader")
    events = queue.Queue()

    def on_event(pd, event):
        events.put(event)
        return 0

    cp = osdp.ControlPanel([info], log_level=osdp.LogLevel.Warning, event_handler=on_event)
    cp.start()

    inbox = queue.Queue()

    def read_stdin():
        for line in sys.stdin:
            line = line.strip()
            if line:
                inbox.put(json.loads(line))
        inbox.put({"quit": True})

    threading.Thread(target=read_stdin, daemon=True).start()

    last = None
    try:
        while True:
            now = {"online": cp.is_online(args.address), "sc": cp.is_sc_active(args.address)}
            if now != last:
                out({"status": now})
                last = now
            while not events.empty():
                out({"event": events.get()})
            try:
                msg = inbox.get(timeout=0.01)
            except queue.Empty:
                continue
            if msg.get("quit"):
                break
            kind = msg.pop("send")
            if kind == "led":
                cmd = {"command": osdp.Command.LED, "reader": 0, "led_number": 0,
                       "control_code": 2, "on_count": 3, "off_count": 2,
                       "on_color": osdp.CommandLEDColor.Green,
                       "off_color": osdp.CommandLEDColor.Black,
                       "timer_count": 30, "temporary": True}
            elif kind == "buzzer":
                cmd = {"command": osdp.Command.Buzzer, "reader": 0, "control_code": 2,
                       "on_count": 1, "off_count": 1, "rep_count": 3}
            elif kind == "text":
                cmd = {"command": osdp.Command.Text, "reader": 0, "control_code": 3,
                       "temp_time": 5, "offset_row": 1, "offset_col": 1, "data": ""}
            else:
                out({"sent": kind, "ok": False, "error": "unknown command"})
                continue
            cmd.update(msg)
            ok = cp.submit_command(args.address, cmd)
            out({"sent": kind, "ok": bool(ok)})
    finally:
        cp.stop()


if __name__ == "__main__":
    main()
