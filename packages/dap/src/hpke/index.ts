export * from './suite.js';
export { HpkeRecipient, generateKeyPair, open, seal } from './node.js';
export { generateKeyPairWeb, openWeb, sealWeb, publicKeyFromPrivateWeb } from './web.js';
