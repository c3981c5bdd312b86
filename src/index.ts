// Library entry point: what another program embedding Sluice uses.
export { loadConfigFile, validateConfig, type SluiceConfig } from './config';
export { Dataplane } from './dataplane';
export { ErrorCodes, SluiceError, isSluiceError } from './errors';
export type * from './native/addon';
export type * from './native/types';
