import { describe, expect, it } from 'vitest';
import { TimerWheel, WheelTimer } from '../../../src-main/core/sim/timer-wheel';

function manualWheel(slots = 16, tickMs = 10): { wheel: TimerWheel; advanceTo(t: number): void } {
  let now = 0;
  const wheel = new TimerWheel({ slots, tickMs, now: () => now });
  return {
    wheel,
    advanceTo(t: number) {
      now = t;
      wheel.advance();
    },
  };
}

describe('TimerWheel', () => {
  it('fires a timer once its due time has passed, never early', () => {
    const { wheel, advanceTo } = manualWheel();
    const fired: number[] = [];
    const t = new WheelTimer(() => fired.push(1));
    wheel.after(t, 25.5);
    advanceTo(25);
    expect(fired).toEqual([]);
    advanceTo(30);
    expect(fired).toEqual([1]);
    expect(t.scheduled).toBe(false);
    expect(wheel.size).toBe(0);
  });

  it('keeps timers beyond one revolution until they are due', () => {
    const { wheel, advanceTo } = manualWheel(8, 10); // one revolution = 80 ms
    let fired = 0;
    wheel.after(new WheelTimer(() => fired++), 250);
    for (let t = 10; t < 250; t += 10) advanceTo(t);
    expect(fired).toBe(0);
    advanceTo(250);
    expect(fired).toBe(1);
  });

  it('runs periodic timers without drift and catches up after a stall', () => {
    const { wheel, advanceTo } = manualWheel(64, 10);
    let count = 0;
    const t: WheelTimer = new WheelTimer(() => {
      count++;
      wheel.every(t, 100);
    });
    wheel.at(t, 100);
    for (let now = 10; now <= 1000; now += 10) advanceTo(now);
    expect(count).toBe(10);
    // A stall of 5 s: the timer fires once, then restarts from now instead of firing 50 times.
    advanceTo(6000);
    expect(count).toBe(11);
    advanceTo(6100);
    expect(count).toBe(12);
  });

  it('cancels, and survives callbacks that cancel other timers of the same bucket', () => {
    const { wheel, advanceTo } = manualWheel();
    const order: string[] = [];
    const c = new WheelTimer(() => order.push('c'));
    const b = new WheelTimer(() => order.push('b'));
    const a = new WheelTimer(() => {
      order.push('a');
      wheel.cancel(b);
    });
    const d = new WheelTimer(() => order.push('d'));
    // Same bucket; insertion at the head means iteration order d, c, b, a... put a first in line.
    wheel.at(d, 10);
    wheel.at(c, 10);
    wheel.at(b, 10);
    wheel.at(a, 10);
    wheel.cancel(d);
    advanceTo(10);
    expect(order).toEqual(['a', 'c']);
    expect(wheel.size).toBe(0);
  });

  it('keeps firing other timers when one throws', () => {
    const { wheel, advanceTo } = manualWheel();
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.message);
    process.on('warning', onWarning);
    let ok = 0;
    wheel.at(new WheelTimer(() => ok++), 10);
    wheel.at(
      new WheelTimer(() => {
        throw new Error('boom');
      }),
      10,
    );
    advanceTo(10);
    expect(ok).toBe(1);
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        process.off('warning', onWarning);
        expect(warnings.some((w) => w.includes('boom'))).toBe(true);
        resolve();
      }),
    );
  });
});
