/** `urn:pulumi:<stack>::<project>::<parent types $-joined>$<type>::<name>` (the name may itself contain `::`). */
export interface ParsedUrn {
  stack: string;
  project: string;
  /** Ancestor component types, outermost first, then the resource's own type. */
  typeChain: string[];
  type: string;
  name: string;
}

export function parseUrn(urn: string): ParsedUrn {
  const [prefix = "", project = "", types = "", ...rest] = urn.split("::");
  const typeChain = types.split("$");
  return {
    stack: prefix.replace(/^urn:pulumi:/, ""),
    project,
    typeChain,
    type: typeChain[typeChain.length - 1] ?? "",
    name: rest.join("::"),
  };
}
