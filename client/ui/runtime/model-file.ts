/**
 * The file "Download model" saves: one peer's current weights as float32 with a small JSON
 * header saying what they are. Readable anywhere with a few lines (see decodeModelFile).
 *
 * Layout (little-endian):
 *
 *   offset    size  field
 *   0         4     magic "LMDL"
 *   4         4     n: byte length of the JSON header (UTF-8)
 *   8         n     header JSON, then zero padding to a multiple of 4
 *   8+n+pad   4*d   the d weights, float32, in the order of `layout`
 *
 * Header: `{ format: 'liec-model', version: 1, sessionId, peerId, round, arch, numParams,
 * layout: [{ name, shape, offset, size }], createdAt }` (layout as client/training/model.ts
 * reports it; arch and the weights order as client/training/architectures.ts defines them).
 *
 * @example
 * const bytes = encodeModelFile({ ...header, weights });
 * const { header, weights } = decodeModelFile(bytes); // weights is a Float32Array copy
 */
import { z } from 'zod';

export const MODEL_FILE_MAGIC = 0x4c444d4c; // "LMDL" read little-endian
export const MODEL_FILE_VERSION = 1;
/** Largest header accepted when decoding. */
export const MODEL_FILE_MAX_HEADER_BYTES = 1 << 20;

export type ModelFileErrorCode = 'BAD_MAGIC' | 'BAD_HEADER' | 'BAD_LENGTH';
export class ModelFileError extends Error {
  readonly code: ModelFileErrorCode;
  constructor(code: ModelFileErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = 'ModelFileError';
    this.code = code;
  }
}

export const modelFileHeaderSchema = z.object({
  format: z.literal('liec-model'),
  version: z.literal(MODEL_FILE_VERSION),
  sessionId: z.string().max(64),
  peerId: z.string().max(64),
  /** The round the weights belong to (the next round this peer would compute). */
  round: z.number().int().nonnegative(),
  arch: z.string().max(32),
  numParams: z.number().int().nonnegative(),
  layout: z
    .array(
      z.object({
        name: z.string().max(128),
        shape: z.array(z.number().int().nonnegative()).max(8),
        offset: z.number().int().nonnegative(),
        size: z.number().int().nonnegative(),
      }),
    )
    .max(256),
  /** ISO time of the download. */
  createdAt: z.string().max(64),
});
export type ModelFileHeader = z.infer<typeof modelFileHeaderSchema>;

export function encodeModelFile(
  header: Omit<ModelFileHeader, 'format' | 'version' | 'numParams'>,
  weights: Float32Array,
): Uint8Array {
  const full: ModelFileHeader = {
    format: 'liec-model',
    version: MODEL_FILE_VERSION,
    ...header,
    numParams: weights.length,
  };
  const json = new TextEncoder().encode(JSON.stringify(full));
  const padded = Math.ceil(json.length / 4) * 4;
  const out = new Uint8Array(8 + padded + 4 * weights.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, MODEL_FILE_MAGIC, true);
  view.setUint32(4, json.length, true);
  out.set(json, 8);
  const base = 8 + padded;
  for (let i = 0; i < weights.length; i++) view.setFloat32(base + 4 * i, weights[i] ?? 0, true);
  return out;
}

export function decodeModelFile(bytes: Uint8Array): { header: ModelFileHeader; weights: Float32Array } {
  if (bytes.length < 8) throw new ModelFileError('BAD_LENGTH', `${bytes.length} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== MODEL_FILE_MAGIC) throw new ModelFileError('BAD_MAGIC', 'not a model file');
  const headerBytes = view.getUint32(4, true);
  if (headerBytes > MODEL_FILE_MAX_HEADER_BYTES)
    throw new ModelFileError('BAD_HEADER', `header of ${headerBytes} bytes`);
  if (bytes.length < 8 + headerBytes) throw new ModelFileError('BAD_LENGTH', 'header cut short');
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerBytes)));
  } catch {
    throw new ModelFileError('BAD_HEADER', 'header is not JSON');
  }
  const header = modelFileHeaderSchema.safeParse(parsed);
  if (!header.success) throw new ModelFileError('BAD_HEADER', header.error.message);
  const base = 8 + Math.ceil(headerBytes / 4) * 4;
  const expected = base + 4 * header.data.numParams;
  if (bytes.length !== expected)
    throw new ModelFileError('BAD_LENGTH', `${bytes.length} bytes, expected ${expected}`);
  const weights = new Float32Array(header.data.numParams);
  for (let i = 0; i < weights.length; i++) weights[i] = view.getFloat32(base + 4 * i, true);
  return { header: header.data, weights };
}
