import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

/**
 * The architecture rules are lint rules: the core never imports electron, and the renderer imports
 * nothing from the core but contract types. This keeps them enforced by `npm test`.
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

  it('the whole tree is lint-clean', { timeout: 300_000 }, async () => {
    const results = await eslint.lintFiles(['.']);
    const problems = results.flatMap((r) => r.messages.map((m) => `${path.relative(root, r.filePath)}:${m.line} ${m.ruleId}: ${m.message}`));
    expect(problems).toEqual([]);
  });
});
