#!/usr/bin/env python3
"""A Nerve engine written in Python with grpcio: it serves nerve.engine.v1.Engine and grpc.health.v1,
registers itself with a control plane under a lease, keeps the lease with heartbeats, and leaves on
SIGTERM (deregistered first, so routers stop sending it calls, then the server drains).

Messages are encoded by hand (a few protobuf fields), so it needs nothing beyond grpcio
(Debian: python3-grpcio). With grpcio-tools you would generate them from proto/ instead.

usage: engine.py --control-plane HOST:PORT [--engine NAME] [--id ID] [--version V] [--port N]
                 [--host H] [--ttl-ms MS]

Operations: "echo" returns the payload, "reverse" returns it reversed.
"""
import argparse
import os
import signal
import sys
import threading
import uuid
from concurrent import futures

import grpc


# --- protobuf wire format, the few types these messages use -------------------------------------

def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field_bytes(number, data):
    return varint((number << 3) | 2) + varint(len(data)) + data


def field_varint(number, value):
    return varint(number << 3) + varint(value) if value else b""


def read_varint(buf, i):
    shift = result = 0
    while True:
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return result, i


def decode(buf):
    """Field number -> value (bytes for length-delimited fields, int for varints)."""
    out, i = {}, 0
    while i < len(buf):
        tag, i = read_varint(buf, i)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            out[number], i = read_varint(buf, i)
        elif wire == 2:
            length, i = read_varint(buf, i)
            out[number] = bytes(buf[i:i + length])
            i += length
        else:
            raise ValueError("unexpected wire type %d" % wire)
    return out


# --- the engine ----------------------------------------------------------------------------------

class Engine:
    def __init__(self, name, instance_id, version):
        self.name, self.instance_id, self.version = name, instance_id, version

    def invoke(self, request, context):
        msg = decode(request)
        operation = msg.get(1, b"").decode()
        payload = msg.get(2, b"")
        if operation == "echo":
            result = payload
        elif operation == "reverse":
            result = payload[::-1]
        else:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "unknown operation %r (known: echo, reverse)" % operation)
        return (field_bytes(1, result) + field_bytes(2, self.instance_id.encode())
                + field_bytes(3, self.name.encode()) + field_bytes(4, self.version.encode()))


def health_check(request, context):
    return field_varint(1, 1)  # ServingStatus SERVING


def handlers(engine):
    raw = dict(request_deserializer=None, response_serializer=None)
    return [
        grpc.method_handlers_generic_handler("nerve.engine.v1.Engine", {
            "Invoke": grpc.unary_unary_rpc_method_handler(engine.invoke, **raw),
        }),
        grpc.method_handlers_generic_handler("grpc.health.v1.Health", {
            "Check": grpc.unary_unary_rpc_method_handler(health_check, **raw),
        }),
    ]


# --- registration with a lease -------------------------------------------------------------------

class Lease:
    """Register, heartbeat at the interval the control plane asks, register again if the lease lapsed."""

    def __init__(self, channel, request):
        self.request = request
        self.register_call = channel.unary_unary("/nerve.admin.v1.Admin/Register")
        self.heartbeat_call = channel.unary_unary("/nerve.admin.v1.Admin/Heartbeat")
        self.deregister_call = channel.unary_unary("/nerve.admin.v1.Admin/Deregister")
        self.stopped = threading.Event()
        self.register()

    def register(self):
        grant = decode(self.register_call(self.request, timeout=10))
        self.lease_id = grant[1]
        self.interval_s = grant.get(3, 5000) / 1000.0

    def run(self):
        while not self.stopped.wait(self.interval_s):
            try:
                self.heartbeat_call(field_bytes(1, self.lease_id), timeout=5)
            except grpc.RpcError as err:
                print("heartbeat failed: %s %s" % (err.code().name, err.details()), file=sys.stderr, flush=True)
                if err.code() == grpc.StatusCode.NOT_FOUND:
                    try:
                        self.register()
                    except grpc.RpcError:
                        pass

    def leave(self):
        self.stopped.set()
        self.deregister_call(field_bytes(1, self.lease_id), timeout=5)


def main():
    p = argparse.ArgumentParser(description="A Nerve engine in Python.")
    p.add_argument("--control-plane", required=True, help="host:port of the control plane's gRPC port")
    p.add_argument("--engine", default="python-echo")
    p.add_argument("--id", default=None)
    p.add_argument("--version", default="v1")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=int(os.environ.get("PORT", "0")))
    p.add_argument("--ttl-ms", type=int, default=15000)
    args = p.parse_args()
    instance_id = args.id or "%s-%s" % (args.engine, uuid.uuid4().hex[:8])

    engine = Engine(args.engine, instance_id, args.version)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), handlers=handlers(engine))
    port = server.add_insecure_port("%s:%d" % (args.host, args.port))
    server.start()
    address = "%s:%d" % (args.host, port)

    channel = grpc.insecure_channel(args.control_plane)
    request = (field_bytes(1, args.engine.encode()) + field_bytes(2, instance_id.encode())
               + field_bytes(3, address.encode()) + field_bytes(4, args.version.encode())
               + field_varint(7, args.ttl_ms) + field_varint(8, 1))
    lease = Lease(channel, request)
    threading.Thread(target=lease.run, daemon=True).start()
    print("python engine %s instance %s ready on %s (lease %s)" % (args.engine, instance_id, address,
                                                                   lease.lease_id.decode()), flush=True)

    done = threading.Event()

    def leave(signum, frame):
        done.set()

    signal.signal(signal.SIGTERM, leave)
    signal.signal(signal.SIGINT, leave)
    done.wait()
    try:
        lease.leave()  # out of routing first
    except grpc.RpcError as err:
        print("could not deregister: %s" % err.details(), file=sys.stderr, flush=True)
    server.stop(grace=5).wait()  # then finish the calls in flight
    print("left", flush=True)


if __name__ == "__main__":
    main()
