"""An independent HTTP/2 peer (Debian's python3-h2, python3-hpack, python3-hyperframe) against the
router's HTTP/2 server: h2's own state machine and HPACK (Huffman, indexing, table size changes) for
well-formed exchanges, hyperframe for frames h2 would refuse to send. Prints one JSON object of results.

usage: h2_peer.py HOST PORT
"""

import json
import socket
import sys

import h2.config
import h2.connection
import h2.events
import h2.settings
from hyperframe.frame import (
    ContinuationFrame,
    DataFrame,
    HeadersFrame,
    PingFrame,
    PriorityFrame,
    RstStreamFrame,
    SettingsFrame,
    WindowUpdateFrame,
)

HOST, PORT = sys.argv[1], int(sys.argv[2])
REQUEST = [(":method", "POST"), (":scheme", "http"), (":path", "/x.Y/Z"), (":authority", "peer")]


def open_connection():
    sock = socket.create_connection((HOST, PORT), timeout=5)
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    return sock, conn


def pump(sock, conn, until, limit=200):
    """Reads and feeds h2 until `until(events)` holds; returns every event seen."""
    seen = []
    for _ in range(limit):
        if until(seen):
            return seen
        try:
            data = sock.recv(65536)
        except socket.timeout:
            break
        if not data:
            seen.append("closed")
            break
        seen.extend(conn.receive_data(data))
        out = conn.data_to_send()
        if out:
            sock.sendall(out)
    return seen


def exchange(sock, conn, stream_id, headers, body):
    """One request on h2's state machine, the body sent within the windows; what came back."""
    conn.send_headers(stream_id, headers)
    sent = 0
    got = {"body": b"", "headers": None, "trailers": None}
    for _ in range(100000):
        while sent < len(body):
            n = min(conn.local_flow_control_window(stream_id), conn.max_outbound_frame_size, len(body) - sent)
            if n <= 0:
                break
            conn.send_data(stream_id, body[sent : sent + n], end_stream=sent + n == len(body))
            sent += n
        if sent == len(body) == 0:
            conn.end_stream(stream_id)
            sent = -1
        out = conn.data_to_send()
        if out:
            sock.sendall(out)
        if got["trailers"] is not None:
            break
        data = sock.recv(65536)
        if not data:
            break
        for e in conn.receive_data(data):
            if isinstance(e, h2.events.ResponseReceived) and e.stream_id == stream_id:
                got["headers"] = dict((k.decode(), v.decode()) for k, v in e.headers)
            elif isinstance(e, h2.events.DataReceived) and e.stream_id == stream_id:
                got["body"] += e.data
                conn.acknowledge_received_data(e.flow_controlled_length, stream_id)
            elif isinstance(e, h2.events.TrailersReceived) and e.stream_id == stream_id:
                got["trailers"] = dict((k.decode(), v.decode()) for k, v in e.headers)
    return got


def well_formed():
    """Many requests on one connection, with h2's HPACK (Huffman, indexing) and a table size change."""
    sock, conn = open_connection()
    results = []
    big = bytes(range(256)) * 4096  # 1 MiB: past every flow-control window
    for i in range(1, 40, 2):
        if i == 11:
            # The peer's table shrinks to 0 and grows back: our encoder must signal both (RFC 7541 §4.2).
            conn.update_settings({h2.settings.SettingCodes.HEADER_TABLE_SIZE: 0})
            conn.update_settings({h2.settings.SettingCodes.HEADER_TABLE_SIZE: 4096})
            sock.sendall(conn.data_to_send())
        body = big if i == 21 else ("call %d" % i).encode()
        got = exchange(sock, conn, i, REQUEST + [("x-echo", "value-%d" % (i % 3)), ("content-type", "application/grpc")], body)
        results.append(
            got["headers"] is not None
            and got["headers"].get("x-echo") == "value-%d" % (i % 3)
            and got["body"] == body
            and (got["trailers"] or {}).get("grpc-status") == "0"
        )
    sock.close()
    return all(results), len(results)


def raw(frames):
    """Sends raw frames after the preface; returns ('goaway', code) / ('rst', id, code) / ('alive',)."""
    sock, conn = open_connection()
    pump(sock, conn, lambda ev: any(isinstance(e, h2.events.RemoteSettingsChanged) for e in ev))
    payload = b"".join(f.serialize() for f in frames)
    payload += PingFrame(0, opaque_data=b"settle!!").serialize()
    sock.sendall(payload)
    buf = b""
    rst = None
    while True:
        try:
            data = sock.recv(65536)
        except socket.timeout:
            return ("timeout",)
        if not data:
            return rst or ("closed",)
        buf += data
        while len(buf) >= 9:
            length = int.from_bytes(buf[0:3], "big")
            if len(buf) < 9 + length:
                break
            ftype, sid, body = buf[3], int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF, buf[9 : 9 + length]
            buf = buf[9 + length :]
            if ftype == 7:
                sock.close()
                return ("goaway", int.from_bytes(body[4:8], "big"))
            if ftype == 3 and rst is None:
                rst = ("rst", sid, int.from_bytes(body[0:4], "big"))
            if ftype == 6 and body == b"settle!!":
                sock.close()
                return rst or ("alive",)


def block(headers):
    import hpack

    return hpack.Encoder().encode(headers)


def headers_frame(stream_id, headers, flags=("END_HEADERS", "END_STREAM")):
    f = HeadersFrame(stream_id)
    f.data = block(headers)
    f.flags = set(flags)
    return f


def settings_frame(settings, ack=False):
    f = SettingsFrame(0, settings=settings)
    if ack:
        f.flags = {"ACK"}
    return f


cases = {}
ok, count = well_formed()
cases["well_formed"] = {"ok": ok, "calls": count}
cases["priority_idle"] = raw([PriorityFrame(1, depends_on=0)])  # allowed: the baseline
cases["priority_self"] = raw([PriorityFrame(3, depends_on=3, stream_weight=16)])
cases["data_idle"] = raw([DataFrame(1, data=b"x")])
cases["rst_idle"] = raw([RstStreamFrame(1, error_code=8)])
cases["window_update_idle"] = raw([WindowUpdateFrame(1, window_increment=10)])
cases["continuation_without_headers"] = raw([ContinuationFrame(1, data=block(REQUEST))])
cases["enable_push_2"] = raw([settings_frame({2: 2})])
cases["initial_window_too_large"] = raw([settings_frame({4: 2**31})])
cases["missing_scheme"] = raw([headers_frame(1, [(":method", "POST"), (":path", "/x")])])
cases["duplicate_path"] = raw([headers_frame(1, REQUEST + [(":path", "/again")])])
cases["uppercase_name"] = raw([headers_frame(1, REQUEST + [("X-Up", "1")])])
cases["decreasing_stream_id"] = raw([headers_frame(5, REQUEST), headers_frame(3, REQUEST)])
print(json.dumps(cases))
