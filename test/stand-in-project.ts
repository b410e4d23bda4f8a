import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";

/**
 * A scratch project for a CLI under test: stand-in commands in `<dir>/bin` (the caller puts it first on PATH) and
 * `<dir>/project` holding Pulumi.yaml and the stack file `Pulumi.qa.yaml`. Returns the bin folder.
 */
export function standInProject(dir: string, commands: Record<string, string>, stackFile: string): string {
  const bin = path.join(dir, "bin");
  mkdirSync(bin);
  for (const [name, text] of Object.entries(commands)) {
    writeFileSync(path.join(bin, name), text);
    chmodSync(path.join(bin, name), 0o755);
  }
  mkdirSync(path.join(dir, "project"));
  writeFileSync(path.join(dir, "project", "Pulumi.yaml"), "name: platform\nruntime: nodejs\n");
  writeFileSync(path.join(dir, "project", "Pulumi.qa.yaml"), stackFile);
  return bin;
}
