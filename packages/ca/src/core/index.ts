export * from './problems.js';
export * from './objects.js';
