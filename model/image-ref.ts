/** The parts of a Docker image reference that platform rules care about. */
export interface ImageRef {
  repository: string;
  tag?: string;
  digest?: string;
}

// name components: lowercase alnum with . _ - separators; optional registry host[:port] in front.
const REFERENCE = /^((?:[a-zA-Z0-9.-]+(?::[0-9]+)?\/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)(?::([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@(sha256:[a-f0-9]{64}))?$/;

export function parseImageRef(text: string): ImageRef | undefined {
  const match = REFERENCE.exec(text);
  if (!match) return undefined;
  return { repository: match[1]!, tag: match[2], digest: match[3] };
}

/** Production refuses references that can silently change under the same name. */
export function isPinned(ref: ImageRef): boolean {
  return ref.digest !== undefined || (ref.tag !== undefined && ref.tag !== "latest");
}
