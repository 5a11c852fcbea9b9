'use strict';
// Python's repr() of the values an argument check names, so that a refused
// call says what Python says of the same value (`{queue!r}` and the like).

const hex = (n, width) => n.toString(16).padStart(width, '0');

/** repr() of a str: single quotes (double ones when it holds a single
 * quote and no double quote), printable characters as they are, others
 * escaped as Python escapes them. */
function reprString(s) {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const code = ch.codePointAt(0);
    if (ch === quote || ch === '\\') out += `\\${ch}`;
    else if (ch === '\t') out += '\\t';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === ' ' || !/[\p{C}\p{Z}]/u.test(ch)) out += ch;
    else if (code < 0x100) out += `\\x${hex(code, 2)}`;
    else if (code < 0x10000) out += `\\u${hex(code, 4)}`;
    else out += `\\U${hex(code, 8)}`;
  }
  return out + quote;
}

/** repr() of a number: an integral one below 1e16 as Python's int, another
 * as its float (shortest digits; an exponent below 1e-4 and from 1e16 up). */
function reprNumber(n) {
  if (Number.isNaN(n)) return 'nan';
  if (!Number.isFinite(n)) return n > 0 ? 'inf' : '-inf';
  if (Number.isInteger(n) && Math.abs(n) < 1e16) return String(n);
  const exp = Math.floor(Math.log10(Math.abs(n)));
  if (exp < -4 || exp >= 16) {
    const [mantissa, power] = n.toExponential().split('e');
    const p = Number(power);
    return `${mantissa}e${p < 0 ? '-' : '+'}${String(Math.abs(p)).padStart(2, '0')}`;
  }
  return String(n);
}

/** repr() of a JSON-like value (str, number, bool, None); other values as String() gives them. */
function pyRepr(value) {
  if (typeof value === 'string') return reprString(value);
  if (typeof value === 'number') return reprNumber(value);
  if (value === null || value === undefined) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(', ')}]`;
  return String(value);
}

/** The name Python gives the type of the value JSON or a caller would hand
 * it (`type(value).__name__`): str, int, float, bool, NoneType, list, dict, bytes. */
function pyType(value) {
  if (typeof value === 'string') return 'str';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  if (typeof value === 'bigint') return 'int';
  if (typeof value === 'boolean') return 'bool';
  if (value === null || value === undefined) return 'NoneType';
  if (Array.isArray(value)) return 'list';
  if (value instanceof Uint8Array) return 'bytes';
  if (value instanceof Set) return 'set';
  if (value instanceof Date) return 'datetime';
  if (typeof value === 'function') return 'function';
  return 'dict';
}

module.exports = { pyRepr, pyType, reprString };
