export * from './index.cjs';
import * as jobbertrack from './index.cjs';
export default jobbertrack;
