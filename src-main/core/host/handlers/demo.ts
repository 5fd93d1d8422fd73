import type { DemoRunner } from '../../demo';
import type { Handlers } from '../handler';

/** The guided demo's calls, over the DemoRunner. */
export function createDemoHandlers(deps: { demo: () => DemoRunner }): Handlers<'demo.start' | 'demo.cancel' | 'demo.status'> {
  return {
    'demo.start': (input) => deps.demo().start(input),
    'demo.cancel': () => deps.demo().cancel(),
    'demo.status': () => deps.demo().current(),
  };
}
