export * from './seed.cjs';
import * as seed from './seed.cjs';
export default seed;
