import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

/**
 * The architecture rules are lint rules: the core never imports electron, each core folder imports
 * only the layers below it, and the renderer imports nothing from the core but contract types and
 * the contract's client. This keeps them enforced by `npm test`.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const eslint = new ESLint({ cwd: root });

async function messagesFor(code: string, file: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(root, file) });
  return result.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

describe('architecture lint rules', () => {
  it('refuses electron in the core', async () => {
    const messages = await messagesFor("import { app } from 'electron';\nexport const x = app;\n", 'src-main/core/fleet/probe.ts');
    expect(messages.join('\n')).toMatch(/no-restricted-imports: .*plain Node/);
  });

  it('allows contract types in the renderer but refuses values and other core modules', async () => {
    expect(await messagesFor("import type { DeviceSummary } from '@contract';\nexport type X = DeviceSummary;\n", 'src-renderer/stores/probe.ts')).toEqual([]);
    expect((await messagesFor("import { calls } from '@contract';\nexport const x = calls;\n", 'src-renderer/stores/probe.ts')).join('\n')).toMatch(
      /no-restricted-imports/,
    );
    expect(
      (await messagesFor("import { Store } from '../../src-main/core/store/store';\nexport const x = Store;\n", 'src-renderer/stores/probe.ts')).join('\n'),
    ).toMatch(/no-restricted-imports/);
  });

  it('allows the contract client at runtime in the renderer', async () => {
    expect(await messagesFor("import { RpcClient } from '@contract/client/rpc-client';\nexport const x = RpcClient;\n", 'src-renderer/api/probe.ts')).toEqual([]);
  });

  it('refuses a core folder importing a folder its layer does not allow, however deep the file', async () => {
    const engineToFleet = await messagesFor("import { FleetService } from '../fleet';\nexport const x = FleetService;\n", 'src-main/core/engine/probe.ts');
    expect(engineToFleet).toEqual([expect.stringMatching(/^tinyfleet\/core-layers: src-main\/core\/engine may not import src-main\/core\/fleet; it may import: common/)]);
    const deep = await messagesFor("import { Store } from '../../store';\nexport const x = Store;\n", 'src-main/core/engine/tflite/probe.ts');
    expect(deep.join('\n')).toMatch(/engine may not import src-main\/core\/store/);
    const common = await messagesFor("import { calls } from '../contract';\nexport const x = calls;\n", 'src-main/core/common/probe.ts');
    expect(common.join('\n')).toMatch(/common may not import src-main\/core\/contract; it may import: nothing/);
    const toHost = await messagesFor("import { createCore } from '../host/create-core';\nexport const x = createCore;\n", 'src-main/core/fleet/probe.ts');
    expect(toHost.join('\n')).toMatch(/fleet may not import src-main\/core\/host/);
  });

  it('allows same-folder and lower-layer imports, and type-only imports where only types are allowed', async () => {
    expect(await messagesFor("import { ModelFormatError } from '../errors';\nexport const x = ModelFormatError;\n", 'src-main/core/engine/tflite/probe.ts')).toEqual([]);
    expect(await messagesFor("import { Store } from '../store';\nexport const x = Store;\n", 'src-main/core/fleet/probe.ts')).toEqual([]);
    expect(await messagesFor("import type { CompileReport } from '../contract';\nexport type X = CompileReport;\n", 'src-main/core/engine/probe.ts')).toEqual([]);
    const value = await messagesFor("import { CompileReportSchema } from '../contract';\nexport const x = CompileReportSchema;\n", 'src-main/core/engine/probe.ts');
    expect(value.join('\n')).toMatch(/engine may not import src-main\/core\/contract \(only `import type` is allowed\)/);
  });

  it('refuses core imports of the CLI, the hosts and the renderer, and core folders without a layer', async () => {
    const cli = await messagesFor("import { program } from '../../cli/index';\nexport const x = program;\n", 'src-main/core/sim/probe.ts');
    expect(cli.join('\n')).toMatch(/outside the core/);
    const renderer = await messagesFor("import { api } from '../../../src-renderer/api';\nexport const x = api;\n", 'src-main/core/models/probe.ts');
    expect(renderer.join('\n')).toMatch(/outside the core/);
    const unknown = await messagesFor("import { Store } from '../store';\nexport const x = Store;\n", 'src-main/core/unmapped/probe.ts');
    expect(unknown.join('\n')).toMatch(/src-main\/core\/unmapped has no layer: add it to the core-layers map/);
  });

  it('the whole tree is lint-clean', { timeout: 300_000 }, async () => {
    const results = await eslint.lintFiles(['.']);
    const problems = results.flatMap((r) => r.messages.map((m) => `${path.relative(root, r.filePath)}:${m.line} ${m.ruleId}: ${m.message}`));
    expect(problems).toEqual([]);
  });
});
