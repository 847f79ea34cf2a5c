// Fails when the folders of src/ import each other in a circle: a folder's files may import a folder
// that never imports back, directly or through others. The file-level rules are in
// .dependency-cruiser.cjs; this checks the graph of folders (each file counts for the folder it is
// in), which dependency-cruiser's rules do not. Run by `npm run lint`.
import { cruise } from 'dependency-cruiser';

const result = await cruise(['src'], {
  exclude: { path: '^src/dashboard/' },
  doNotFollow: { path: 'node_modules' },
  tsPreCompilationDeps: true,
  tsConfig: { fileName: 'tsconfig.json' },
});
const folderOf = (path) => path.slice(0, path.lastIndexOf('/'));
const edges = new Map();
for (const m of result.output.modules) {
  if (!m.source.startsWith('src/')) continue;
  const from = folderOf(m.source);
  for (const d of m.dependencies) {
    if (!d.resolved.startsWith('src/')) continue;
    const to = folderOf(d.resolved);
    if (to === from) continue;
    if (!edges.has(from)) edges.set(from, new Map());
    const byTo = edges.get(from);
    if (!byTo.has(to)) byTo.set(to, `${m.source} → ${d.resolved}`);
  }
}

// Tarjan's strongly connected components: a component of more than one folder is a cycle.
const index = new Map();
const low = new Map();
const stack = [];
const onStack = new Set();
const cycles = [];
let next = 0;
function visit(v) {
  index.set(v, next);
  low.set(v, next++);
  stack.push(v);
  onStack.add(v);
  for (const w of edges.get(v)?.keys() ?? []) {
    if (!index.has(w)) {
      visit(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
  }
  if (low.get(v) === index.get(v)) {
    const component = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1) cycles.push(component.sort());
  }
}
for (const v of edges.keys()) if (!index.has(v)) visit(v);

if (cycles.length === 0) {
  console.log(
    `folders: no cycle among ${new Set([...edges.keys(), ...[...edges.values()].flatMap((m) => [...m.keys()])]).size} folders of src/`,
  );
} else {
  for (const c of cycles) {
    console.error(`folders import each other in a circle: ${c.join(', ')}`);
    for (const from of c)
      for (const [to, example] of edges.get(from) ?? [])
        if (c.includes(to)) console.error(`  ${from} → ${to} (${example})`);
  }
  process.exit(1);
}
