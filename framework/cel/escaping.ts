/**
 * Property-name escaping of Kubernetes CEL: how a schema property becomes a CEL field name.
 * Mirrors k8s.io/apiserver/pkg/cel/escaping.go in Kubernetes v1.36: reserved words become
 * `__word__`, `__` becomes `__underscores__`, `.` `__dot__`, `-` `__dash__`, `/` `__slash__`;
 * a name that starts with a digit or holds any other character is not accessible from CEL.
 */

const RESERVED = new Set([
  "true", "false", "null", "in", "as", "break", "const", "continue", "else", "for", "function", "if", "import", "let",
  "loop", "package", "namespace", "return", "var", "void", "while",
]);

/** The CEL field name of the property `name`, or undefined when CEL cannot address it. */
export function escapePropertyName(name: string): string | undefined {
  if (name.length === 0 || (name[0]! >= "0" && name[0]! <= "9")) return undefined;
  if (RESERVED.has(name)) return `__${name}__`;
  if (!/^[A-Za-z0-9_./-]*$/.test(name)) return undefined;
  return name.replace(/__|[-./]/g, (s) => (s === "__" ? "__underscores__" : s === "." ? "__dot__" : s === "-" ? "__dash__" : "__slash__"));
}
