import assert from 'node:assert/strict';
import type { HttpResponse } from './acme.js';

/** Asserts an RFC 7807 problem document of the given ACME type and HTTP status; returns the document. */
export function assertProblem(response: HttpResponse, kind: string, status: number): any {
  assert.equal(response.header('content-type')?.split(';')[0], 'application/problem+json', `expected a problem document, got: ${response.text()}`);
  const problem = response.json();
  assert.equal(problem.type, `urn:ietf:params:acme:error:${kind}`, `problem: ${response.text()}`);
  assert.equal(response.status, status, `HTTP status for ${kind}: ${response.text()}`);
  assert.equal(problem.status, status);
  assert.equal(typeof problem.detail, 'string');
  assert.ok(problem.detail.length > 0);
  return problem;
}
