"""Calls nerve.engine.v1.Engine through a Nerve router with Debian's python3-grpcio: an independent gRPC
implementation. Messages are encoded by hand (the package ships no code generator). Prints one JSON line.

usage: engine_client.py HOST:PORT ENGINE [CA_FILE [CERT_FILE KEY_FILE]]
With CA_FILE the call goes over TLS (the server's name checked as "localhost"); with a certificate and
key too, the client presents them (mTLS).
"""
import json
import sys

import grpc


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(number, data):
    return varint((number << 3) | 2) + varint(len(data)) + data


def encode_request(operation, payload):
    return field(1, operation.encode()) + field(2, payload)


def decode_response(buf):
    """InvokeResponse: 1 payload (bytes), 2 instance_id, 3 engine, 4 version (strings)."""
    out, i = {}, 0
    while i < len(buf):
        tag, i = read_varint(buf, i)
        length, i = read_varint(buf, i)
        value = buf[i:i + length]
        i += length
        name = {1: "payload", 2: "instance_id", 3: "engine", 4: "version"}[tag >> 3]
        out[name] = value.decode() if name != "payload" else value.decode("utf-8", "replace")
    return out


def read_varint(buf, i):
    shift = result = 0
    while True:
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return result, i


def main():
    target, engine = sys.argv[1], sys.argv[2]
    md = (("x-nerve-engine", engine),)
    report = {"grpc_version": grpc.__version__}
    if len(sys.argv) > 3:
        read = lambda path: open(path, "rb").read()
        creds = grpc.ssl_channel_credentials(
            root_certificates=read(sys.argv[3]),
            private_key=read(sys.argv[5]) if len(sys.argv) > 5 else None,
            certificate_chain=read(sys.argv[4]) if len(sys.argv) > 5 else None,
        )
        channel = grpc.secure_channel(target, creds, options=(("grpc.ssl_target_name_override", "localhost"),))
    else:
        channel = grpc.insecure_channel(target)
    with channel:
        invoke = channel.unary_unary("/nerve.engine.v1.Engine/Invoke", request_serializer=None, response_deserializer=None)
        stream = channel.stream_stream("/nerve.engine.v1.Engine/InvokeStream", request_serializer=None, response_deserializer=None)

        report["unary"] = [decode_response(invoke(encode_request("fibonacci", b'{"n":20}'), metadata=md, timeout=5)) for _ in range(4)]

        requests = iter([encode_request("echo", b"one"), encode_request("prime", b'{"n":7919}'), encode_request("echo", b"three")])
        report["stream"] = [decode_response(r) for r in stream(requests, metadata=md, timeout=5)]

        try:
            invoke(encode_request("fibonacci", b'{"n":-1}'), metadata=md, timeout=5)
        except grpc.RpcError as err:
            report["invalid"] = {"code": err.code().name, "details": err.details()}
        try:
            invoke(encode_request("echo", b""), metadata=(("x-nerve-engine", "nowhere"),), timeout=5)
        except grpc.RpcError as err:
            report["unknown"] = {"code": err.code().name, "details": err.details()}
    print(json.dumps(report))


if __name__ == "__main__":
    main()
