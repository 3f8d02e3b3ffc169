/**
 * Task specs: what a session trains on when it is not the built-in MNIST, as the creator
 * puts it into the session config. It names the classes (index = label), the input every
 * peer's data is turned into, and for CSV the feature columns and their scaling, so every
 * peer turns its own rows into the same inputs without any row leaving it.
 *
 * Scaling (csv): the creator standardizes with the mean and standard deviation of each
 * feature over its own file, x' = (x - mean) / scale, and the session config carries both
 * vectors; every peer applies them unchanged. Nothing is computed across peers (that would
 * need their rows or a secure sum), so a peer whose data is far from the creator's gets
 * inputs far from 0, which a one-hidden-layer MLP tolerates; a constant column gets scale 1.
 *
 * @example
 * const spec = taskSpecSchema.parse({ kind: 'images', width: 28, height: 28, channels: 1, classes: ['0', '1'] });
 * inputSizeOf(spec); // 784
 */
import { z } from 'zod';

/** Most classes a task may have (labels travel as bytes). */
export const MAX_CLASSES = 255;
/** Most CSV feature columns (they travel in the session config with their scaling). */
export const MAX_FEATURES = 1024;
/** Largest image side a task may resize to. */
export const MAX_IMAGE_SIDE = 512;
/** Share of a peer's own examples kept for its local validation accuracy. */
export const VALIDATION_FRACTION = 0.2;
/** Share of a data file the demo and simulator hold back as the test set of `final.testAccuracy`. */
export const HELD_OUT_FRACTION = 0.2;

const name = z.string().min(1).max(128);
const classes = z.array(name).min(2).max(MAX_CLASSES);
const side = z.number().int().min(1).max(MAX_IMAGE_SIDE);

/**
 * The test set the creator names (`liec create --test-set PATH`): only its SHA-256 travels
 * (of the CSV file's bytes, or of an image folder's listing, client/training/test-set.ts). A
 * peer holding those very examples (`liec join --test-data PATH`) reports its model's accuracy
 * on them, and that is the session's accuracy.
 */
export const testSetSchema = z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/, 'a hex SHA-256') });
export type TestSet = z.infer<typeof testSetSchema>;

export const csvTaskSchema = z
  .object({
    kind: z.literal('csv'),
    /** The label column's name. */
    label: name,
    /** Feature columns, in input order. */
    features: z.array(name).min(1).max(MAX_FEATURES),
    classes,
    /** Per-feature standardization: x' = (x - mean[i]) / scale[i]. */
    scaling: z.object({
      mean: z.array(z.number().finite()).max(MAX_FEATURES),
      scale: z.array(z.number().finite().positive()).max(MAX_FEATURES),
    }),
    testSet: testSetSchema.optional(),
  })
  .refine(
    (t) => t.scaling.mean.length === t.features.length && t.scaling.scale.length === t.features.length,
    'scaling needs one mean and one scale per feature',
  );

export const imagesTaskSchema = z.object({
  kind: z.literal('images'),
  width: side,
  height: side,
  /** 1: grayscale (luma), 3: RGB. */
  channels: z.union([z.literal(1), z.literal(3)]),
  /** Class folder names, in label order. */
  classes,
  testSet: testSetSchema.optional(),
});

export const taskSpecSchema = z.discriminatedUnion('kind', [csvTaskSchema, imagesTaskSchema]);

export type CsvTask = z.infer<typeof csvTaskSchema>;
export type ImagesTask = z.infer<typeof imagesTaskSchema>;
export type TaskSpec = z.infer<typeof taskSpecSchema>;

/** Values in one example's input vector. */
export function inputSizeOf(spec: TaskSpec): number {
  switch (spec.kind) {
    case 'csv':
      return spec.features.length;
    case 'images':
      return spec.width * spec.height * spec.channels;
    default: {
      const unreachable: never = spec;
      return unreachable;
    }
  }
}

/** Labelled examples in memory: inputs row after row, one label index per row. */
export interface Dataset {
  /** count * inputSize values. */
  inputs: Float32Array;
  labels: Uint8Array;
  inputSize: number;
  numClasses: number;
  /** Where it came from (for messages). */
  source: string;
}

/** The examples `indices` of `data`, copied. */
export function subset(data: Dataset, indices: readonly number[]): Dataset {
  const { inputSize } = data;
  const inputs = new Float32Array(indices.length * inputSize);
  const labels = new Uint8Array(indices.length);
  indices.forEach((index, row) => {
    inputs.set(data.inputs.subarray(index * inputSize, (index + 1) * inputSize), row * inputSize);
    labels[row] = data.labels[index] ?? 0;
  });
  return { ...data, inputs, labels };
}
