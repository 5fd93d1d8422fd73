import { describe, expect, it } from 'vitest';
import { FrameBatcher } from '../../../src-renderer/lib/frame-batcher';

function manualFrames() {
  const pending: (() => void)[] = [];
  return {
    schedule: (cb: () => void) => void pending.push(cb),
    runFrame: () => pending.splice(0).forEach((cb) => cb()),
    get scheduled() {
      return pending.length;
    },
  };
}

describe('frame batcher', () => {
  it('hands a burst of items over once, on the next frame', () => {
    const frames = manualFrames();
    const flushed: number[][] = [];
    const batcher = new FrameBatcher<number>((items) => flushed.push(items), frames.schedule);
    batcher.push(1);
    batcher.push(2);
    batcher.push(3);
    expect(frames.scheduled).toBe(1);
    expect(flushed).toEqual([]);
    frames.runFrame();
    expect(flushed).toEqual([[1, 2, 3]]);
    batcher.push(4);
    frames.runFrame();
    expect(flushed).toEqual([[1, 2, 3], [4]]);
  });

  it('drops items after dispose', () => {
    const frames = manualFrames();
    const flushed: number[][] = [];
    const batcher = new FrameBatcher<number>((items) => flushed.push(items), frames.schedule);
    batcher.push(1);
    batcher.dispose();
    batcher.push(2);
    frames.runFrame();
    expect(flushed).toEqual([]);
  });
});
