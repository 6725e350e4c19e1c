// @kubernetes/client-node 1.x is ESM-only. This project compiles to CommonJS, so the module is loaded with a
// dynamic import (jest's @swc transform turns it into a require of the transpiled package) and its types
// are imported type-only with the import resolution mode.
export type ClientNode = typeof import('@kubernetes/client-node', { with: { 'resolution-mode': 'import' } });

export function loadClientNode(): Promise<ClientNode> {
  return import('@kubernetes/client-node');
}
