'use strict';
// Tags (src/jobbertrack/_core/tags.py): short labels a job is made with
// (create(..., {tags}), push(..., {tags})), each one an index of the shard
// the job is in (docs/data-model.md, "Finding jobs").  Stored as the field
// `tags`, a JSON list of strings.  The checks say what Python's say.
const { InvalidData } = require('./errors.cjs');
const { pyType, reprString } = require('./repr.cjs');

/** At most this many tags per job, each of 1 to MAX_TAG printable characters. */
const MAX_TAGS = 16;
const MAX_TAG = 128;

/** One tag as given to a filter or a create (check_tag), or InvalidData. */
function checkTag(tag) {
  if (typeof tag !== 'string') throw new InvalidData(`a tag must be a str, not ${pyType(tag)}`);
  const chars = [...tag];
  if (chars.length < 1 || chars.length > MAX_TAG) {
    throw new InvalidData(`a tag must be 1 to ${MAX_TAG} characters, not ${chars.length}: ${reprString(chars.slice(0, 40).join(''))}`);
  }
  // Python's isprintable(): no character of the categories Other and Separator but the space
  if (/[\p{C}\p{Z}]/u.test(tag.replaceAll(' ', '')) || !tag.isWellFormed()) {
    throw new InvalidData(`a tag must be printable characters only: ${reprString(tag)}`);
  }
  return tag;
}

/** Tags as given at create (an array, Set or other iterable of strings),
 * checked, duplicates dropped (the first kept, in order): check_tags. */
function checkTags(tags) {
  if (typeof tags === 'string' || tags instanceof Uint8Array || typeof tags?.[Symbol.iterator] !== 'function') {
    throw new InvalidData(`tags must be a list of strings, not ${pyType(tags)}`);
  }
  const out = [];
  for (const tag of tags) if (!out.includes(checkTag(tag))) out.push(tag);
  if (out.length > MAX_TAGS) throw new InvalidData(`a job takes at most ${MAX_TAGS} tags, not ${out.length}`);
  return out;
}

module.exports = { MAX_TAGS, MAX_TAG, checkTag, checkTags };
