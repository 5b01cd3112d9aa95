"""The client a Raspberry Pi integrator typically writes, as livegate's benchmark peer.

Per step: a frame as the camera delivers it (MJPEG bytes, or packed YUYV 4:2:2) is
turned into a BGR picture the way cv2.VideoCapture hands it over (imdecode for MJPEG,
cvtColor YUV2BGR_YUYV for YUYV), encoded with OpenCV's imencode at the same quality
(4:2:0), base64'd into the JSON body and POSTed with requests over one keep-alive
HTTPS session; the answer is parsed. Prints one JSON object: CPU seconds (user +
system, getrusage), context switches (voluntary + involuntary), bytes posted, peak
RSS, for the measured steps (after the warm-up ones).

Run by benches/step.rs (scripts/bench-step.sh installs opencv-python-headless,
numpy and requests into a venv under target/).
"""

import argparse
import base64
import json
import os
import resource
import sys
import time

import cv2
import numpy as np
import requests


def load(frames, width, height):
    out = []
    for name in sorted(os.listdir(frames)):
        path = os.path.join(frames, name)
        low = name.lower()
        with open(path, "rb") as f:
            data = f.read()
        if low.endswith((".jpg", ".jpeg")):
            out.append(("mjpeg", data))
        elif low.endswith(".yuyv"):
            if len(data) != width * height * 2:
                sys.exit(f"{path}: {len(data)} bytes, not {width}x{height}x2")
            out.append(("yuyv", data))
    if not out:
        sys.exit(f"no frames in {frames}")
    return out


def picture(kind, data, width, height):
    if kind == "mjpeg":
        return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    yuyv = np.frombuffer(data, np.uint8).reshape(height, width, 2)
    return cv2.cvtColor(yuyv, cv2.COLOR_YUV2BGR_YUYV)


def peak_rss_kb():
    # VmHWM, not ru_maxrss (Linux keeps that across execve: the parent's peak).
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def usage():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime, ru.ru_nvcsw + ru.ru_nivcsw, peak_rss_kb()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("--frames", required=True)
    p.add_argument("--width", type=int, default=640)
    p.add_argument("--height", type=int, default=480)
    p.add_argument("--quality", type=int, default=80)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--warmup", type=int, default=10)
    a = p.parse_args()

    frames = load(a.frames, a.width, a.height)
    s = requests.Session()
    # Per request: requests lets REQUESTS_CA_BUNDLE override a session's verify.
    s.headers["x-aigen-key"] = a.key
    r = s.get(a.url, params={"mode": 3}, timeout=10, verify=a.ca)
    r.raise_for_status()
    request_id = r.json()["request_id"]
    params = [int(cv2.IMWRITE_JPEG_QUALITY), a.quality]

    sent = 0
    start = usage()
    t0 = time.monotonic()
    for i in range(a.warmup + a.steps):
        if i == a.warmup:
            start = usage()
            t0 = time.monotonic()
            sent = 0
        kind, data = frames[i % len(frames)]
        img = picture(kind, data, a.width, a.height)
        ok, jpeg = cv2.imencode(".jpg", img, params)
        if not ok:
            sys.exit("imencode failed")
        body = {"request_id": request_id, "image": base64.b64encode(jpeg.tobytes()).decode("ascii")}
        r = s.post(a.url, json=body, timeout=10, verify=a.ca)
        r.json()
        sent += len(jpeg)
    wall = time.monotonic() - t0
    end = usage()
    json.dump(
        {
            "steps": a.steps,
            "cpu_s": end[0] - start[0],
            "wall_s": wall,
            "csw": end[1] - start[1],
            "bytes": sent,
            "maxrss_kb": end[2],
        },
        sys.stdout,
    )
    print()


if __name__ == "__main__":
    main()
