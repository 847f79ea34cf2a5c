// The layers of src/, lowest first, as rules `npm run lint` enforces (and so CI):
//   model → observability → store → security → protocol → config → engines, load, router,
//   control-plane (which may use load) → api → demo, cli
// A folder may import from folders before it, never after; and no file imports itself back through
// others. `src/dashboard` is the browser's and is built apart.
const below = (from, allowed) => ({
  name: `${from.replace(/\W/g, '')}-layer`,
  comment: `src/${from} may import only from ${allowed.length ? allowed.join(', ') : 'itself'} within src/`,
  severity: 'error',
  from: { path: `^src/${from}/` },
  to: { path: '^src/', pathNot: [`^src/${from}/`, ...allowed.map((a) => `^src/${a}/`)] },
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'a file that reaches itself through its imports: split what both sides need',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    below('model', []),
    below('observability', ['model']),
    below('store', ['model', 'observability']),
    below('security', ['model', 'observability', 'store']),
    below('protocol', ['model', 'observability', 'security']),
    below('config', ['model', 'observability', 'security', 'protocol']),
    below('engines', ['model', 'observability', 'security', 'protocol']),
    below('load', ['model', 'observability', 'protocol']),
    {
      ...below('router', ['model', 'observability', 'security', 'protocol', 'config']),
      comment: 'the router never imports the control plane, the API, the store or the CLI',
    },
    // A rollout drives synthetic calls with the load generator.
    below('control-plane', ['model', 'observability', 'store', 'security', 'protocol', 'config', 'load']),
    below('api', ['model', 'observability', 'store', 'security', 'protocol', 'config', 'control-plane']),
    below('demo', ['model', 'observability', 'engines']),
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^src/dashboard/' },
  },
};
