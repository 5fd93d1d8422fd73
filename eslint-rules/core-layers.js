// ESLint rule `tinyfleet/core-layers`: which folder of src-main/core may import which.
//
// Each relative import of a file under src-main/core is resolved to the folder it lands in, so the
// check does not depend on how deep the importing file sits. Options: `{ layers }`, a map from a core
// folder to the folders it may import; an entry `type:<folder>` allows type-only imports of that folder
// (`import type`, `export type`), and `*` allows every core folder. Imports inside one folder are
// always allowed; a core folder missing from the map, and any import leaving src-main/core, is an error.
import path from 'node:path';

const CORE = path.join('src-main', 'core');

/** @type {import('eslint').Rule.RuleModule} */
export const coreLayers = {
  meta: {
    type: 'problem',
    docs: { description: 'Keeps the layers of src-main/core: each folder imports only the folders its layer allows.' },
    schema: [
      {
        type: 'object',
        properties: { layers: { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } } },
        required: ['layers'],
        additionalProperties: false,
      },
    ],
  },
  create(context) {
    const { layers } = context.options[0];
    const root = path.join(context.cwd, CORE);
    const from = folderIn(root, context.filename);
    if (from === null) return {};

    const check = (node, source, typeOnly) => {
      if (typeof source !== 'string' || !source.startsWith('.')) return;
      const target = path.resolve(path.dirname(context.filename), source);
      const to = folderIn(root, target);
      if (to === null) {
        const where = path.relative(context.cwd, target) || '.';
        context.report({ node, message: `src-main/core/${from} imports "${source}" (${where}), outside the core: the core imports nothing from hosts, the CLI or the renderer.` });
        return;
      }
      if (to === from) return;
      const allowed = layers[from];
      if (!allowed) {
        context.report({ node, message: `src-main/core/${from} has no layer: add it to the core-layers map in eslint.config.js.` });
        return;
      }
      if (allowed.includes('*') || allowed.includes(to) || (typeOnly && allowed.includes(`type:${to}`))) return;
      const hint = allowed.includes(`type:${to}`) ? ' (only `import type` is allowed)' : '';
      context.report({ node, message: `src-main/core/${from} may not import src-main/core/${to}${hint}; it may import: ${allowed.join(', ') || 'nothing'}.` });
    };

    const typeOnlyImport = (node) =>
      node.importKind === 'type' || (node.specifiers.length > 0 && node.specifiers.every((s) => s.importKind === 'type'));
    const typeOnlyExport = (node) =>
      node.exportKind === 'type' || (node.specifiers?.length > 0 && node.specifiers.every((s) => s.exportKind === 'type'));

    return {
      ImportDeclaration: (node) => check(node, node.source.value, typeOnlyImport(node)),
      ExportNamedDeclaration: (node) => node.source && check(node, node.source.value, typeOnlyExport(node)),
      ExportAllDeclaration: (node) => check(node, node.source.value, node.exportKind === 'type'),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node, node.source.value, false),
    };
  },
};

/** The first folder under the core that `file` lies in, or null outside src-main/core. */
function folderIn(root, file) {
  const rel = path.relative(root, file);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return null;
  const [first] = rel.split(path.sep);
  return first;
}
