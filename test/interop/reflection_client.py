"""What grpcurl does with server reflection, with Python's protobuf (an independent implementation that
checks descriptors strictly): list the services, fetch each service's file and its dependencies over
grpc.reflection.v1, build a DescriptorPool from them, make a request from JSON with snake_case field names
and call the method. Prints one JSON object.

usage: reflection_client.py HOST:PORT
"""

import json
import sys

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory

TARGET = sys.argv[1]
METHOD = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"


def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def field(number, payload):
    return varint((number << 3) | 2) + varint(len(payload)) + payload


def fields(buf):
    """(number, wire type, value) of a message's fields: bytes for length-delimited, ints for varints."""
    at = 0
    while at < len(buf):
        key, at = read_varint(buf, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, at = read_varint(buf, at)
        elif wire == 2:
            n, at = read_varint(buf, at)
            value, at = buf[at : at + n], at + n
        else:
            raise ValueError("unexpected wire type %d" % wire)
        yield number, value


def read_varint(buf, at):
    shift = value = 0
    while True:
        b = buf[at]
        at += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, at


channel = grpc.insecure_channel(TARGET)
stream = channel.stream_stream(METHOD, request_serializer=None, response_deserializer=None)


def ask(requests):
    return list(stream(iter(requests), timeout=20))


# list_services (field 7), then file_containing_symbol (field 4) for each service.
[listing] = ask([field(7, b"")])
services = []
for number, value in fields(listing):
    if number == 6:
        for n, service in fields(value):
            services += [v.decode() for k, v in fields(service) if k == 1]

answers = ask([field(4, s.encode()) for s in services] + [field(4, b"no.such.Symbol")])
protos = {}
errors = []
for answer in answers:
    for number, value in fields(answer):
        if number == 4:
            for n, raw in fields(value):
                fd = descriptor_pb2.FileDescriptorProto.FromString(raw)
                protos[fd.name] = fd
        if number == 7:
            errors.append(dict(fields(value)).get(1))

pool = descriptor_pool.DescriptorPool()
added = set()
while len(added) < len(protos):
    progress = False
    for name, fd in protos.items():
        if name not in added and all(d in added for d in fd.dependency):
            pool.Add(fd)
            added.add(name)
            progress = True
    if not progress:
        raise SystemExit("missing dependencies: %s" % sorted(set(d for f in protos.values() for d in f.dependency) - set(protos)))

factory = message_factory.MessageFactory(pool)
method = pool.FindMethodByName("nerve.admin.v1.Admin.SetInstanceWeight")
request = factory.GetPrototype(method.input_type)()
json_format.Parse(json.dumps({"engine": "math", "instance_id": "math-2", "weight": 300}), request)
response_type = factory.GetPrototype(method.output_type)
call = channel.unary_unary(
    "/nerve.admin.v1.Admin/SetInstanceWeight",
    request_serializer=lambda m: m.SerializeToString(),
    response_deserializer=response_type.FromString,
)
reply = call(request, timeout=10)
print(
    json.dumps(
        {
            "services": services,
            "files": sorted(protos),
            "not_found": errors,
            "ads": pool.FindServiceByName("envoy.service.discovery.v3.AggregatedDiscoveryService").full_name,
            "request": json_format.MessageToDict(request, preserving_proto_field_name=True),
            "reply": json_format.MessageToDict(reply, preserving_proto_field_name=True),
        }
    )
)
