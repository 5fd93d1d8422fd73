/**
 * Credentials of simulated devices and where they come from. Provisioning is the app's job: inside
 * the app a `DeviceProvisioner` (the fleet registry) issues them; the standalone `tinyfleet sim`
 * reads them from a CSV file (docs/protocol.md §13) or provisions through the local store.
 */

/** What a simulated device needs to connect. `mcu` is an MCU profile id. */
export interface SimCredential {
  id: string;
  secret: string;
  mcu: string;
}

/** A device the simulator wants registered. */
export interface SimDeviceSpec {
  id: string;
  name: string;
  mcu: string;
  tags: string[];
}

/**
 * Registers simulated devices and issues their MQTT secrets. The host wires it to the fleet
 * registry: devices are created (flagged simulated) when missing and get a fresh secret when they
 * exist already, since only secret hashes are stored.
 */
export interface DeviceProvisioner {
  provisionSimulated(devices: SimDeviceSpec[], signal?: AbortSignal): Promise<SimCredential[]>;
}

/** A credentials row without an MCU column takes its profile from the group's rotation. */
export interface CsvCredential {
  id: string;
  secret: string;
  mcu: string | null;
}

/**
 * Parses a credentials CSV: a header naming at least `id` and `secret` (optionally `mcu`; other
 * columns ignored), then one device per line. Quoted fields are supported. Throws an error naming
 * the line of the first problem.
 */
export function parseCredentialsCsv(text: string): CsvCredential[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim().length > 0);
  if (lines.length === 0) throw new Error('credentials CSV is empty (expected a header "id,secret[,mcu]")');
  const header = splitCsvLine(lines[0]).map((h) => h.trim().toLowerCase());
  const idCol = header.indexOf('id');
  const secretCol = header.indexOf('secret');
  const mcuCol = header.indexOf('mcu');
  if (idCol < 0 || secretCol < 0) throw new Error(`credentials CSV header must name "id" and "secret" columns, got "${lines[0]}"`);
  const seen = new Set<string>();
  const out: CsvCredential[] = [];
  for (let i = 1; i < lines.length; i++) {
    const cells = splitCsvLine(lines[i]);
    const id = (cells[idCol] ?? '').trim();
    const secret = (cells[secretCol] ?? '').trim();
    const mcu = mcuCol >= 0 ? (cells[mcuCol] ?? '').trim() : '';
    if (!/^[a-z0-9][a-z0-9_-]*$/.test(id) || id.length > 64) throw new Error(`credentials CSV line ${i + 1}: invalid device id "${id}"`);
    if (!secret) throw new Error(`credentials CSV line ${i + 1}: device "${id}" has no secret`);
    if (seen.has(id)) throw new Error(`credentials CSV line ${i + 1}: device "${id}" appears twice`);
    seen.add(id);
    out.push({ id, secret, mcu: mcu || null });
  }
  return out;
}

/** Writes credentials in the format `parseCredentialsCsv` reads. */
export function formatCredentialsCsv(credentials: readonly SimCredential[]): string {
  return ['id,secret,mcu', ...credentials.map((c) => `${c.id},${csvCell(c.secret)},${c.mcu}`)].join('\n') + '\n';
}

function csvCell(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

function splitCsvLine(line: string): string[] {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      cells.push(cell);
      cell = '';
    } else cell += ch;
  }
  cells.push(cell);
  return cells;
}
