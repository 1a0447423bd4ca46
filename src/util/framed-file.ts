import { createHash } from 'node:crypto';

/**
 * Frugal's framed binary files (training checkpoints, pseudo-label shards): a magic string, the header's length
 * (u32 LE), a JSON header padded with spaces to a multiple of 4 bytes (float payloads stay aligned), then the payload.
 * The header carries the payload's sha256 as `checksum`.
 */
export function encodeFramed(magic: string, header: Record<string, unknown>, payload: readonly ArrayBufferView[]): Buffer {
  const parts = payload.map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength));
  const checksum = createHash('sha256');
  for (const p of parts) checksum.update(p);
  const json = Buffer.from(JSON.stringify({ checksum: checksum.digest('hex'), ...header }), 'utf8');
  const pad = (4 - ((magic.length + 4 + json.length) % 4)) % 4;
  const head = Buffer.alloc(magic.length + 4);
  head.write(magic, 0, 'ascii');
  head.writeUInt32LE(json.length + pad, magic.length);
  return Buffer.concat([head, json, Buffer.alloc(pad, 0x20), ...parts]);
}

/** Why a buffer is not a framed file: another magic, cut short, an unreadable header, or a payload its checksum does not match. */
export type FramedProblem = 'magic' | 'truncated' | 'header' | 'checksum';

/**
 * A framed file's header and payload, or why it is not one. A header without a checksum (files of earlier versions)
 * is accepted unless `requireChecksum`.
 */
export function decodeFramed<H>(buf: Buffer, magic: string, o: { requireChecksum?: boolean } = {}): { header: H; payload: Buffer } | FramedProblem {
  if (buf.length < magic.length + 4 || buf.subarray(0, magic.length).toString('ascii') !== magic) return 'magic';
  const start = magic.length + 4 + buf.readUInt32LE(magic.length);
  if (start > buf.length) return 'truncated';
  let header: H & { checksum?: string };
  try {
    header = JSON.parse(buf.subarray(magic.length + 4, start).toString('utf8'));
  } catch {
    return 'header';
  }
  const payload = buf.subarray(start);
  const mismatch = header.checksum === undefined ? !!o.requireChecksum : createHash('sha256').update(payload).digest('hex') !== header.checksum;
  return mismatch ? 'checksum' : { header, payload };
}
