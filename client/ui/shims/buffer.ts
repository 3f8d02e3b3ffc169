/**
 * The `Buffer` global of the browser bundle (injected by esbuild): the `buffer` package,
 * which simple-peer 9 and its streams use as if in Node.
 *
 * @example
 * Buffer.from([1, 2, 3]).toString('hex'); // '010203'
 */
export { Buffer } from 'buffer';
