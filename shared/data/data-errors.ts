/**
 * Named failures of reading a peer's own data (a CSV file or an image folder). Every
 * message names the file (and the row or image) at fault, so a user can fix the data;
 * tests assert on `code`, never on the text.
 *
 * @example
 * try { csvDataset(text, 'w.csv', { label: 'weather' }); } catch (e) { if (e instanceof DataError) e.code; } // 'MISSING_COLUMN'
 */

export type DataErrorCode =
  | 'BAD_CSV' // unterminated quote, a row with another number of fields than the header
  | 'MISSING_COLUMN' // the label or a named feature column is not in the header
  | 'NOT_NUMERIC' // a feature cell that is not a finite number (empty included)
  | 'EMPTY_LABEL' // a row without a label value
  | 'UNKNOWN_CLASS' // a label (or class folder) the session's task does not list
  | 'EMPTY_CLASS' // a class folder without a single image
  | 'UNREADABLE_IMAGE' // a file in a class folder that does not decode as PNG or JPEG
  | 'SHAPE_MISMATCH' // the data's input size differs from what the session's model takes
  | 'NO_DATA' // no rows, no class folders, or too few examples to split
  | 'BAD_TASK'; // a task spec that cannot describe this data (e.g. under two classes)

export class DataError extends Error {
  readonly code: DataErrorCode;
  /** The file or folder at fault. */
  readonly file: string;
  constructor(code: DataErrorCode, file: string, message: string) {
    super(`${code}: ${file}: ${message}`);
    this.name = 'DataError';
    this.code = code;
    this.file = file;
  }
}
