// Layering of src/, checked by `make lint` (part of `make test`): no import cycles, and every import
// runs down this list (or stays inside its own folder). A folder may import any folder listed BELOW
// it, never one above it nor a sibling on its own line. docs/architecture.md explains each layer.
const LAYERS = [
  // top
  ['cli'],
  ['selftest'],
  ['server', 'detect', 'uplink', 'policy-hook'],
  ['runtime'],
  ['policy'],
  ['sensor', 'store'],
  ['kernel', 'rules', 'wire', 'insights'],
  ['abi'],
  ['common'],
  // bottom
];
// files that belong to a layer other than their folder's (a run hook sits above the runtime)
const SPECIAL = { 'policy-hook': '^src/policy/run-hook\\.ts$' };
const pathOf = (name) => SPECIAL[name] ?? `^src/${name}/`;
const notSpecial = (name) => Object.entries(SPECIAL).filter(([, re]) => re.startsWith(`^src/${name}/`)).map(([, re]) => re);

const forbidden = [
  { name: 'no-circular', severity: 'error', comment: 'import cycles make layers meaningless', from: { path: '^src/' }, to: { circular: true } },
  { name: 'not-to-unresolvable', severity: 'error', from: { path: '^src/' }, to: { couldNotResolve: true, dependencyTypesNot: ['core'] } },
  { name: 'src-not-to-tests', severity: 'error', comment: 'product code never imports tests or benchmarks', from: { path: '^src/' }, to: { path: '^(tests|bench)/' } },
  {
    name: 'policy-only-sensor-extension-points',
    severity: 'error',
    comment: "policy uses the sensor's public extension points only (the kinds registry, the SensorHandle types), never its internals (container table, enricher, process table, loader)",
    from: { path: '^src/policy/' },
    to: { path: '^src/sensor/', pathNot: '^src/sensor/(handle|kinds)\\.ts$' },
  },
];
LAYERS.forEach((line, i) => {
  const above = LAYERS.slice(0, i + 1).flat();
  for (const name of line) {
    const upward = above.filter((n) => n !== name);
    if (!upward.length) continue;
    forbidden.push({
      name: `layer-${name}`,
      severity: 'error',
      comment: `${name} may import only layers below it (${LAYERS.slice(i + 1).flat().join(', ')})`,
      from: { path: pathOf(name), pathNot: notSpecial(name) },
      to: { path: upward.map(pathOf), pathNot: [pathOf(name), ...notSpecial(name).filter(() => false)] },
    });
  }
});

module.exports = {
  forbidden,
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|build)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
