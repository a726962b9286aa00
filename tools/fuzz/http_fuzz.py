#!/usr/bin/env python3
"""Mutation fuzzer for a running ezone cluster's HTTP surfaces.

Sends well-formed HTTP requests with mutated JSON bodies, paths, ezone
headers and W3C traceparent/tracestate (mode "json"), or mutated and random raw bytes (mode "raw"), to the
takeout app, the DAL API, the change feed and the admin API, and reports
status counts. Any 5xx other than 503 (overload, write-forbidden) and 508
(hop limit) is printed with its request; a node that stops answering ends
the run ("REFUSED"). Start the cluster first (tools/dev up).

  tools/fuzz/http_fuzz.py --mode json --seconds 60 --seed 1
  tools/fuzz/http_fuzz.py --mode raw --ports 7102,7202 --seconds 40  # the CAF cluster ports

Bugs it found (each fixed, with a regression test): a deeply nested JSON
body and a change-feed client that half-closed killed the node, bytes that
are not UTF-8 gave 500s, a BASP header announcing 4 GiB made CAF allocate
it, and an endless SQL query held the DAL's writer forever.
"""
import argparse
import http.client
import json
import random
import socket
import sys
import time

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

TARGETS = [
    ("POST", 7100, "/v1/users", {"phone": "+86 138 0000 0001", "name": "Li"}),
    ("POST", 7200, "/v1/merchants", {"name": "D", "lat": 39.91, "lon": 116.40}),
    ("POST", 7100, "/v1/orders", {"user_id": 1, "merchant_id": 1, "lat": 39.9, "lon": 116.4, "amount_cents": 2500}),
    ("POST", 7100, "/v1/orders/1/accept", None),
    ("GET", 7200, "/v1/orders/1", None),
    ("POST", 7100, "/dal/v1/tx",
     {"shard": 1, "epoch": 1, "statements": [{"sql": "SELECT * FROM orders WHERE id=?1", "params": [1]}]}),
    ("POST", 7200, "/dal/v1/read", {"table": "orders", "key": [1]}),
    ("POST", 7101, "/admin/v1/locate", {"keys": ["geo=39.9,116.4", "merchant=1", "order=5"]}),
    ("PUT", 7101, "/admin/v1/merchants/77", {"shard": "beijing"}),
    ("POST", 7101, "/admin/v1/workflows", {"kind": "rebalance", "dry_run": True, "target": {"bj": 52, "sh": 48}}),
    ("POST", 7101, "/admin/v1/workflows", {"kind": "switchover", "dry_run": True, "shards": ["beijing"], "to": "sh"}),
    ("POST", 7101, "/admin/v1/quarantine/resolve", {"table": "orders", "pk": "[42]"}),
    ("GET", 7101, "/admin/v1/traffic?window_s=30", None),
    ("GET", 7101, "/admin/v1/locate?key=geo%3D39.9%2C116.4", None),
    ("GET", 7100, "/drc/v1/changes?tables=orders&since=0", None),
    ("POST", 7200, "/soa/v1/pricing/quote?items=3", {"items": 3, "city": "bj"}),
    ("GET", 7100, "/soa/v1/pricing", None),
    ("GET", 7101, "/admin/v1/soa", None),
    ("POST", 7201, "/admin/v1/soa/instances", {"service": "pricing", "address": "127.0.0.1:7299", "ttl_s": 5}),
    ("POST", 7201, "/admin/v1/soa/instances/7587887/keepalive", None),
    ("DELETE", 7101, "/admin/v1/soa/instances/7587887", None),
]
WEIRD = [None, True, False, 0, -1, 1.5, 1e308, -1e308, 2**64, -2**63 - 1, "", "x" * 5000, "\u0000", "\u2603",
         [], {}, [1, [2, [3]]], {"a": {"b": 1}}, "NaN", "geo=91,200", "merchant=-1", "order=99999999999999999999"]
KEYS = ["geo=39.9,116.4", "geo=31.2,121.4", "merchant=1", "order=5", "geo=", "order=abc", "geo=1e400,5",
        "merchant=18446744073709551616", "geo=NaN,NaN", "geo=inf,-inf"]


def mutate_value(rng, v):
    if rng.random() < 0.25:
        return rng.choice(WEIRD)
    if isinstance(v, dict):
        v = dict(v)
        if v and rng.random() < 0.3:
            del v[rng.choice(list(v))]
        if rng.random() < 0.2:
            v[rng.choice(["x", "shard", "epoch", "keys", "kind", "sql", ""])] = rng.choice(WEIRD)
        return {k: mutate_value(rng, x) if rng.random() < 0.4 else x for k, x in v.items()}
    if isinstance(v, list):
        v = [mutate_value(rng, x) if rng.random() < 0.4 else x for x in v]
        return v * rng.randint(0, 50) if rng.random() < 0.2 else v
    return v


def mutate_bytes(rng, data):
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        if not b:
            break
        i = rng.randrange(len(b))
        op = rng.random()
        if op < 0.4:
            b[i] = rng.randrange(256)
        elif op < 0.7:
            del b[i:i + rng.randint(1, 10)]
        else:
            b[i:i] = rng.choice([b"[", b"{", b'"', b"\\", b"\x00", b"9" * 30, b"-", b"e99999", b"\r\n", b"X" * 10000])
    return bytes(b)


def json_round(rng, stats, verbose):
    method, port, path, body = rng.choice(TARGETS)
    if body is not None:
        data = json.dumps(mutate_value(rng, body)).encode() if rng.random() < 0.6 else mutate_bytes(rng, json.dumps(body).encode())
    else:
        data = b"" if rng.random() < 0.7 else mutate_bytes(rng, b'{"a":1}')
    if rng.random() < 0.2:
        path = "/" + mutate_bytes(rng, path.encode()).decode("latin1").replace(" ", "%20").replace("\r", "").replace("\n", "").lstrip("/")
    headers = {"Content-Type": "application/json"}
    if rng.random() < 0.3:
        headers["X-Ezone-Key"] = rng.choice(KEYS)
    if rng.random() < 0.1:
        headers["X-Ezone-Hops"] = rng.choice(["1", "99", "-1", "abc", "bj,sh,bj"])
    if rng.random() < 0.15:  # W3C trace context: valid and sampled, or mutated
        tp = TRACEPARENT if rng.random() < 0.4 else mutate_bytes(rng, TRACEPARENT.encode()).decode("latin1")
        headers["traceparent"] = tp.replace("\r", "").replace("\n", "")
        headers["tracestate"] = rng.choice(["vendor=x", "", "=,=,", "a" * 600])
    if rng.random() < 0.1:
        method = rng.choice(["DELETE", "PATCH", "GET", "POST"])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request(method, path, body=data, headers=headers)
        r = conn.getresponse()
        if not path.startswith("/drc"):
            r.read(65536)
        stats[r.status] = stats.get(r.status, 0) + 1
        if r.status >= 500 and r.status not in (503, 508):
            print("5xx", r.status, method, path[:80], data[:200])
    finally:
        conn.close()


RAW_BASE = [
    b"GET /v1/orders/5 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"POST /v1/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 72\r\n\r\n"
    b'{"user_id":1,"merchant_id":1,"lat":39.9,"lon":116.4,"amount_cents":2500}',
    b"POST /v1/users HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"a\":\r\n3\r\n 1}\r\n0\r\n\r\n",
    b"GET /metrics HTTP/1.0\r\n\r\n",
]


def raw_round(rng, ports, stats):
    port = rng.choice(ports)
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    try:
        if rng.random() < 0.15:
            data = bytes(rng.randrange(256) for _ in range(rng.randint(1, 3000)))
        else:
            data = b"".join(mutate_bytes(rng, rng.choice(RAW_BASE)) for _ in range(rng.randint(1, 3)))
        s.sendall(data)
        if rng.random() < 0.5:
            s.shutdown(socket.SHUT_WR)
        s.recv(65536)
        stats["answered"] = stats.get("answered", 0) + 1
    finally:
        s.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mode", choices=["json", "raw"], default="json")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--ports", default="7100,7101,7200,7201", help="raw mode: the ports to send to")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    ports = [int(p) for p in args.ports.split(",")]
    stats, n = {}, 0
    end = time.time() + args.seconds
    while time.time() < end:
        try:
            if args.mode == "json":
                json_round(rng, stats, False)
            else:
                raw_round(rng, ports, stats)
        except ConnectionRefusedError:
            print(f"REFUSED after {n} requests: a node stopped answering", file=sys.stderr)
            print(n, stats)
            return 1
        except Exception as e:  # timeouts, resets, client-side encoding errors
            stats[type(e).__name__] = stats.get(type(e).__name__, 0) + 1
        n += 1
    print(n, stats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
