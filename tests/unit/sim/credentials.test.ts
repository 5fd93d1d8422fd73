import { describe, expect, it } from 'vitest';
import { formatCredentialsCsv, parseCredentialsCsv } from '../../../src-main/core/sim/credentials';

describe('credentials CSV', () => {
  it('reads id and secret, optional mcu, ignores other columns and blank lines', () => {
    const csv = 'name,id,secret,tags\r\nA,dev-1,s3cr3t,"x,y"\n\nB,dev-2,"with,comma",\n';
    expect(parseCredentialsCsv(csv)).toEqual([
      { id: 'dev-1', secret: 's3cr3t', mcu: null },
      { id: 'dev-2', secret: 'with,comma', mcu: null },
    ]);
    expect(parseCredentialsCsv('id,secret,mcu\nd,s,rp2040\n')).toEqual([{ id: 'd', secret: 's', mcu: 'rp2040' }]);
  });

  it('round-trips what it writes', () => {
    const creds = [
      { id: 'a', secret: 'q"u,ote', mcu: 'stm32f746' },
      { id: 'b', secret: 'plain', mcu: 'rp2040' },
    ];
    expect(parseCredentialsCsv(formatCredentialsCsv(creds))).toEqual(creds);
  });

  it.each([
    ['', /empty/],
    ['id,name\na,b\n', /"id" and "secret"/],
    ['id,secret\nBad Id,s\n', /line 2: invalid device id "Bad Id"/],
    ['id,secret\na,\n', /line 2: device "a" has no secret/],
    ['id,secret\na,s\na,t\n', /line 3: device "a" appears twice/],
  ])('rejects %j', (csv, message) => {
    expect(() => parseCredentialsCsv(csv)).toThrow(message);
  });
});
