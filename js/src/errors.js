/**
 * The one error class the package raises. Every failure — from the Go engine,
 * from encoding a value, or from the WebAssembly instance itself — reaches
 * callers as a `MinibaseError` with a stable `.code` (see PROTOCOL.md).
 */
export class MinibaseError extends Error {
  /**
   * @param {string} code stable error code, e.g. 'UNIQUE_VIOLATION'
   * @param {string} message what went wrong and where
   * @param {{ cause?: unknown }} [options]
   */
  constructor(code, message, options) {
    super(message, options);
    this.code = code;
  }
}

// `name` lives on the prototype (like Error's) so it never shows up as an own
// property when an error is logged or spread.
Object.defineProperty(MinibaseError.prototype, 'name', {
  value: 'MinibaseError', writable: true, configurable: true,
});

/**
 * Returns `err` if it already is a MinibaseError, else wraps it as INTERNAL
 * with the original error as `cause`.
 * @param {unknown} err
 * @param {string} [context] what was being done, for the message
 * @returns {MinibaseError}
 */
export function toMinibaseError(err, context = 'minibase') {
  if (err instanceof MinibaseError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new MinibaseError('INTERNAL', `${context}: ${detail}`, { cause: err });
}
