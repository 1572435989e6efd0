import { MlsError } from '../../../src-core/mls/errors.js';
import { left, nodeWidth, parent, right, root, sibling } from '../../../src-core/mls/treeMath.js';
import type { VectorCheck } from '../registry.js';

interface Case {
  n_leaves: number;
  n_nodes: number;
  root: number;
  left: (number | null)[];
  right: (number | null)[];
  parent: (number | null)[];
  sibling: (number | null)[];
}

/** The vectors write `null` where the RFC's functions raise: here, an MlsError. */
function orNull(f: () => number): number | null {
  try {
    return f();
  } catch (e) {
    if (e instanceof MlsError && e.code === 'invalid_argument') return null;
    throw e;
  }
}

const check: VectorCheck<Case> = {
  file: 'mls-test-vectors/tree-math.json',
  label: (tc, i) => `#${i} ${tc.n_leaves} leaves`,
  check(tc) {
    const n = tc.n_leaves;
    if (nodeWidth(n) !== tc.n_nodes)
      throw new Error(`nodeWidth ${nodeWidth(n)}, want ${tc.n_nodes}`);
    if (root(n) !== tc.root) throw new Error(`root ${root(n)}, want ${tc.root}`);
    const fns = {
      left: (x: number) => left(x),
      right: (x: number) => right(x),
      parent: (x: number) => parent(x, n),
      sibling: (x: number) => sibling(x, n),
    } as const;
    for (const [name, f] of Object.entries(fns) as [keyof typeof fns, (x: number) => number][]) {
      const want = tc[name];
      if (want.length !== tc.n_nodes)
        throw new Error(`${name}: ${want.length} entries for ${tc.n_nodes} nodes`);
      for (let x = 0; x < want.length; x++) {
        const got = orNull(() => f(x));
        if (got !== want[x]) throw new Error(`${name}(${x}) = ${got}, want ${want[x]}`);
      }
    }
  },
};

export default check;
