import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterEach } from "vitest";

/**
 * Temporary folders of one test file, removed after each test: `make()` creates one, `track(dir)` takes over one
 * made elsewhere. Call once at the top of the file (it registers the cleanup).
 */
export function tempDirs(prefix: string): { make: () => string; track: (dir: string) => string } {
  const made: string[] = [];
  afterEach(() => {
    for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const track = (dir: string) => (made.push(dir), dir);
  return { make: () => track(mkdtempSync(path.join(tmpdir(), prefix))), track };
}
