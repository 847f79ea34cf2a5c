#!/usr/bin/env python3
"""A Nerve client in Python: the REST API with credentials (list engines, add a version at weight 0,
read the config history) with the standard library, then a call through a router with grpcio
(Debian: python3-grpcio; messages encoded by hand: the package ships no code generator).

usage: python-client.py --api http://127.0.0.1:3000/api/v1/nerve --router 127.0.0.1:50051
                        [--engine NAME] [--token JWT_OR_API_KEY] [--ca FILE]
Prints one JSON line of what it saw. NERVE_TOKEN works as --token.
"""
import argparse
import json
import os
import sys
import urllib.error
import urllib.request

import grpc

parser = argparse.ArgumentParser()
parser.add_argument("--api", default="http://127.0.0.1:3000/api/v1/nerve")
parser.add_argument("--router", default="127.0.0.1:50051")
parser.add_argument("--engine", default="echo")
parser.add_argument("--token", default=os.environ.get("NERVE_TOKEN", ""))
parser.add_argument("--ca")
args = parser.parse_args()


def rest(method, path, body=None):
    """One REST call; a 4xx/5xx raises with the API's own message and request id."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(args.api + path, data=data, method=method)
    req.add_header("content-type", "application/json")
    if args.token:
        req.add_header("authorization", "Bearer " + args.token)
    try:
        with urllib.request.urlopen(req, timeout=10) as res:
            return json.loads(res.read() or b"{}")
    except urllib.error.HTTPError as err:
        e = json.loads(err.read() or b"{}").get("error", {})
        sys.exit(f"{method} {path}: {err.code} {e.get('code')}: {e.get('message')} (request {e.get('requestId')})")


def field(number, data):
    def varint(n):
        out = bytearray()
        while True:
            b, n = n & 0x7F, n >> 7
            out.append(b | (0x80 if n else 0))
            if not n:
                return bytes(out)
    return varint((number << 3) | 2) + varint(len(data)) + data


def decode(buf):
    """InvokeResponse: 1 payload, 2 instance_id, 3 engine, 4 version (length-delimited fields)."""
    out, i = {}, 0
    while i < len(buf):
        tag, length = buf[i], buf[i + 1]  # short fields only: one-byte tags and lengths
        value = buf[i + 2:i + 2 + length]
        i += 2 + length
        out[{1: "payload", 2: "instance", 3: "engine", 4: "version"}[tag >> 3]] = value.decode()
    return out


report = {"engines": [e["name"] for e in rest("GET", "/engines?limit=100")["engines"]]}
canary = f"v-example-{os.getpid()}"
report["versions"] = rest("POST", f"/engines/{args.engine}/versions", {"name": canary, "weight": 0})["engine"]["versions"]
rest("DELETE", f"/engines/{args.engine}/versions/{canary}")
report["history"] = [v["summary"] for v in rest("GET", "/config/history?limit=2")["versions"]]

if args.ca:
    creds = grpc.ssl_channel_credentials(root_certificates=open(args.ca, "rb").read())
    channel = grpc.secure_channel(args.router, creds, options=(("grpc.ssl_target_name_override", "localhost"),))
else:
    channel = grpc.insecure_channel(args.router)
with channel:
    invoke = channel.unary_unary("/nerve.engine.v1.Engine/Invoke")
    answer = invoke(field(1, b"echo") + field(2, b"hello from python"), metadata=(("x-nerve-engine", args.engine),), timeout=5)
    call = decode(answer)
    report["call"] = {k: call[k] for k in ("payload", "instance", "version")}
print(json.dumps(report))
