/**
 * The bundle lock, `airgap/lock.json` (format version 1): what a bundle holds and the one file
 * that is signed. It pins index.json by digest, and index.json pins every manifest and blob by
 * digest, so a valid signature over the lock covers the whole bundle.
 *
 * The module's face: lock-model.ts (types, limits, JSON Schema), lock-parse.ts (strict reading),
 * lock-create.ts (building and deterministic bytes).
 */
export * from './lock-model.js'
export {parseLock} from './lock-parse.js'
export {createLock, serializeLock, type LockInput} from './lock-create.js'
