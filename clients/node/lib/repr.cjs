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

/** repr() of a JSON-like value (str, number, bool, None); other values as String() gives them. */
function pyRepr(value) {
  if (typeof value === 'string') return reprString(value);
  if (value === null || value === undefined) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(', ')}]`;
  return String(value);
}

module.exports = { pyRepr };
