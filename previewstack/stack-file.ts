import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { parseDocument } from "yaml";
import { stackFileName } from "../model/project-files";

/** `platform:preview` as the program reads it (stacks/schema.ts). */
export interface PreviewKey {
  base: string;
  pr: number;
  tenants: string[];
  app?: { repo: string; service: string; image: string };
  edgePauseIds: Record<string, string>;
}

/**
 * A preview's stack file: the base stack's file with `platform:preview` added. Nothing is committed per pull request;
 * the program reads its config from this untracked (git-ignored) copy. Everything else is the base's, so the base's
 * secrets decrypt (same `encryptionsalt`) and its errors are reported in the base's file.
 */
export function previewStackFileText(baseText: string, baseFile: string, key: PreviewKey): string {
  const doc = parseDocument(baseText);
  if (doc.errors.length > 0) throw new Error(`${baseFile} cannot be parsed as YAML: ${doc.errors[0]!.message.split("\n")[0]}`);
  if (doc.hasIn(["config", "platform:preview"])) throw new Error(`${baseFile} is itself a preview's stack file`);
  const node = doc.createNode(key);
  node.flow = true;
  doc.setIn(["config", "platform:preview"], node);
  const note = ` Written by \`npm run preview\` from ${baseFile}: not committed (git-ignored), removed by \`preview down\`.`;
  doc.commentBefore = doc.commentBefore ? `${note}\n${doc.commentBefore}` : note;
  return doc.toString({ lineWidth: 0 });
}

export function writePreviewStackFile(projectRoot: string, stack: string, key: PreviewKey): string {
  const baseFile = stackFileName(key.base);
  const text = previewStackFileText(readFileSync(path.join(projectRoot, baseFile), "utf8"), baseFile, key);
  const file = path.join(projectRoot, stackFileName(stack));
  writeFileSync(file, text);
  return file;
}

export function removePreviewStackFile(projectRoot: string, stack: string): void {
  rmSync(path.join(projectRoot, stackFileName(stack)), { force: true });
}

export function hasStackFile(projectRoot: string, stack: string): boolean {
  return existsSync(path.join(projectRoot, stackFileName(stack)));
}
