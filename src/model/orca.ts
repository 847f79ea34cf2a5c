/**
 * ORCA load reports (xds.data.orca.v3.OrcaLoadReport, gRFC A51): what an instance says of its own load.
 * Instances send one as the `endpoint-load-metrics-bin` trailer; routers decode it and carry the
 * figures in their reports. A hand codec for the fields Nerve reads, so the router loads no protobuf
 * library (checked against the published proto in unit tests).
 */
export const ORCA_TRAILER = 'endpoint-load-metrics-bin';

export interface OrcaReport {
  /** Share of the instance's CPU in use, 0..1 (may exceed 1 on some hosts, as gRFC A51 allows). */
  readonly cpuUtilization: number;
  /** Share of its memory in use, 0..1. */
  readonly memUtilization: number;
  readonly rps: number;
  readonly eps: number;
  readonly applicationUtilization: number;
  /** Named utilizations (0..1), e.g. a GPU or a queue. */
  readonly utilization: Readonly<Record<string, number>>;
  /** Named opaque metrics. */
  readonly namedMetrics: Readonly<Record<string, number>>;
}

const F64 = 1;
const LEN = 2;

export function encodeOrca(report: Partial<OrcaReport>): Buffer {
  const parts: Buffer[] = [];
  const double = (field: number, value: number | undefined) => {
    if (!value) return;
    const b = Buffer.alloc(9);
    b[0] = (field << 3) | F64;
    b.writeDoubleLE(value, 1);
    parts.push(b);
  };
  const map = (field: number, entries: Readonly<Record<string, number>> | undefined) => {
    for (const [k, v] of Object.entries(entries ?? {})) {
      const key = Buffer.from(k, 'utf8');
      const entry = Buffer.concat([Buffer.from([(1 << 3) | LEN]), varint(key.length), key, entryValue(v)]);
      parts.push(Buffer.from([(field << 3) | LEN]), varint(entry.length), entry);
    }
  };
  double(1, report.cpuUtilization);
  double(2, report.memUtilization);
  map(5, report.utilization);
  double(6, report.rps);
  double(7, report.eps);
  map(8, report.namedMetrics);
  double(9, report.applicationUtilization);
  return Buffer.concat(parts);
}

function entryValue(v: number): Buffer {
  const b = Buffer.alloc(9);
  b[0] = (2 << 3) | F64;
  b.writeDoubleLE(v, 1);
  return b;
}

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}

/** Decodes a report; fields Nerve does not read are skipped. Throws on a malformed message. */
export function decodeOrca(buf: Uint8Array): OrcaReport {
  const r = {
    cpuUtilization: 0,
    memUtilization: 0,
    rps: 0,
    eps: 0,
    applicationUtilization: 0,
    utilization: {} as Record<string, number>,
    namedMetrics: {} as Record<string, number>,
  };
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const reader = new Reader(buf, view);
  while (reader.pos < buf.length) {
    const tag = reader.varint();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (wire === F64) {
      const v = reader.double();
      if (field === 1) r.cpuUtilization = v;
      else if (field === 2) r.memUtilization = v;
      else if (field === 6) r.rps = v;
      else if (field === 7) r.eps = v;
      else if (field === 9) r.applicationUtilization = v;
    } else if (wire === LEN) {
      const end = reader.length();
      if (field === 5 || field === 8) {
        const [k, v] = reader.mapEntry(end);
        (field === 5 ? r.utilization : r.namedMetrics)[k] = v;
      }
      reader.pos = end;
    } else reader.skip(wire);
  }
  return r;
}

class Reader {
  pos = 0;
  constructor(
    private readonly buf: Uint8Array,
    private readonly view: DataView,
  ) {}

  varint(): number {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.pos >= this.buf.length) throw new Error('ORCA report: truncated varint');
      const b = this.buf[this.pos++];
      result += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return result;
    }
    throw new Error('ORCA report: varint too long');
  }

  double(): number {
    if (this.pos + 8 > this.buf.length) throw new Error('ORCA report: truncated double');
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  length(): number {
    const n = this.varint();
    const end = this.pos + n;
    if (end > this.buf.length) throw new Error('ORCA report: truncated field');
    return end;
  }

  mapEntry(end: number): [string, number] {
    let key = '';
    let value = 0;
    while (this.pos < end) {
      const tag = this.varint();
      if (tag === ((1 << 3) | LEN)) {
        const e = this.length();
        key = Buffer.from(this.buf.buffer, this.buf.byteOffset + this.pos, e - this.pos).toString('utf8');
        this.pos = e;
      } else if (tag === ((2 << 3) | F64)) value = this.double();
      else this.skip(tag & 7);
    }
    return [key, value];
  }

  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === F64) this.pos += 8;
    else if (wire === LEN) this.pos = this.length();
    else if (wire === 5) this.pos += 4;
    else throw new Error(`ORCA report: unsupported wire type ${wire}`);
    if (this.pos > this.buf.length) throw new Error('ORCA report: truncated field');
  }
}
