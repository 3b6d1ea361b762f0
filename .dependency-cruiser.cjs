/**
 * The layering of src/, checked by `npm run lint` (dependency-cruiser). docs/architecture.md draws it.
 * Data flows down the list of LAYERS: a folder imports only folders below it (or itself).
 */
/** Top-level folders of src/, from the top of the house down. Folders on one line are one layer (they import none of each other). */
const LAYERS = [
  ['cli'],
  ['serve', 'web', 'keras'],
  ['compare', 'explain', 'bench'],
  ['io'],
  ['report'],
  ['train'],
  ['predict'],
  ['models'],
  ['backend'],
  ['kernels'],
  ['eval', 'data'],
  ['text', 'util'],
];

const folder = (names) => `^src/(${names.join('|')})/`;

/** One rule per layer: nothing in it imports a layer above it, nor another folder of its own layer. */
const layerRules = LAYERS.flatMap((layer, i) =>
  layer.map((name) => {
    const above = [...LAYERS.slice(0, i).flat(), ...layer.filter((n) => n !== name)];
    return {
      name: `layer-${name}`,
      comment: `src/${name} may import only the layers below it: ${LAYERS.slice(i + 1)
        .flat()
        .join(', ')} (and src/*.ts)`,
      severity: 'error',
      from: { path: `^src/${name}/` },
      to: { path: above.length ? folder(above) : '^$' },
    };
  }),
);

module.exports = {
  forbidden: [
    {
      name: 'no-folder-cycles',
      comment: 'No import cycle between folders of src/ (a folder and the folders inside it count as one)',
      severity: 'error',
      scope: 'folder',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'no-file-cycles',
      comment: 'No import cycle between files',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'cli-only-from-cli',
      comment: 'Nothing outside src/cli imports src/cli: cores return data, the CLI presents it',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'commands-independent',
      comment: 'No command module imports another: what two commands share lives in src/cli beside them',
      severity: 'error',
      from: { path: '^src/cli/commands/([^/]+)\\.ts$' },
      to: { path: '^src/cli/commands/', pathNot: '^src/cli/commands/$1\\.ts$' },
    },
    {
      name: 'text-and-data-without-tfjs',
      comment: 'src/text and src/data import neither tfjs nor the backend: the same token ids in Node, the browser and tests',
      severity: 'error',
      from: { path: '^src/(text|data)/' },
      to: { path: ['^src/backend/', '^src/kernels/', '@tensorflow'] },
    },
    {
      name: 'model-dir-without-training-loop',
      comment: 'The model-directory code (src/io) reads and writes what training produces: its types and options, never the loop',
      severity: 'error',
      from: { path: '^src/io/' },
      to: { path: '^src/train/', pathNot: '^src/train/(options|types|control|pretrain-options)\\.ts$' },
    },
    {
      name: 'browser-page-imports',
      comment:
        "The page's scripts (src/web/page.ts and its worker src/web/worker.ts, bundled for the browser) and what they import stay free of Node and of tfjs's Node build: " +
        "only the tokenizer, padding, encoding and occlusion modules, the page's padding shortcut and messages, the error classes (src/errors.ts: pure), the cells' names and gates (src/cells.ts: pure), and tfjs types (tfjs itself is the site's tf.min.js)",
      severity: 'error',
      from: { path: '^src/(web/(page|worker|padding|messages)|predict/encode|explain/occlusion|data/types|text/[^/]+)\\.ts$' },
      to: {
        pathNot: '^src/(web/(padding|messages)|predict/encode|explain/occlusion|data/types|text/[^/]+|errors|cells)\\.ts$',
        dependencyTypesNot: ['type-only'],
      },
    },
    ...layerRules,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js'],
    },
  },
};
