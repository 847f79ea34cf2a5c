import type { Buffer } from 'node:buffer';
import { ConnectionError, DEFAULT_MAX_FRAME, ErrorCode, MAX_WINDOW, Setting } from './frames';
import type { H2Limits } from './limits';

/** What a peer's SETTINGS frame asks of this side; absent fields are unchanged (RFC 9113 §6.5). */
export interface PeerSettings {
  headerTableSize?: number;
  maxConcurrentStreams?: number;
  initialWindowSize?: number;
  maxFrameSize?: number;
}

/**
 * The settings of a SETTINGS frame's payload (not an ACK), checked: a length that is not a multiple of
 * 6, more entries than maxSettingsEntries, ENABLE_PUSH other than 0 (or 1, to a server), an
 * INITIAL_WINDOW_SIZE past 2^31-1 or a MAX_FRAME_SIZE out of range is a ConnectionError. Later entries
 * of one kind win, as the RFC says; unknown ones and MAX_HEADER_LIST_SIZE (advisory) are ignored.
 */
export function parseSettings(payload: Buffer, limits: H2Limits, server: boolean): PeerSettings {
  if (payload.length % 6 !== 0) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'SETTINGS length');
  if (payload.length / 6 > limits.maxSettingsEntries)
    throw new ConnectionError(
      ErrorCode.ENHANCE_YOUR_CALM,
      `more than ${limits.maxSettingsEntries} settings in one SETTINGS frame`,
      'settings_flood',
    );
  const out: PeerSettings = {};
  for (let at = 0; at < payload.length; at += 6) {
    const value = payload.readUInt32BE(at + 2);
    switch (payload.readUInt16BE(at)) {
      case Setting.HEADER_TABLE_SIZE:
        out.headerTableSize = value;
        break;
      case Setting.ENABLE_PUSH:
        if (value > 1 || (value === 1 && !server))
          throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `ENABLE_PUSH ${value} (§6.5.2)`);
        break;
      case Setting.MAX_CONCURRENT_STREAMS:
        out.maxConcurrentStreams = value;
        break;
      case Setting.INITIAL_WINDOW_SIZE:
        if (value > MAX_WINDOW)
          throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, 'INITIAL_WINDOW_SIZE too large');
        out.initialWindowSize = value;
        break;
      case Setting.MAX_FRAME_SIZE:
        if (value < DEFAULT_MAX_FRAME || value > 0xffffff)
          throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `MAX_FRAME_SIZE ${value} out of range`);
        out.maxFrameSize = value;
        break;
      default:
        break;
    }
  }
  return out;
}
