import { sameType, type AstNode } from "./types.ts";
import { add, factor, fixed, LIST_CREATE_BASE, MAX_UINT64, mul, REGEX_LENGTH, STRING_TRAVERSAL, union, type CostRange } from "./units.ts";

/**
 * The call estimates cel-go's checker takes from outside its standard switch: those cel-go's ext
 * lists (v3) and sets libraries register per overload (ext/lists.go, ext/sets.go in cel-go
 * v0.26), and Kubernetes' `library.CostEstimator.EstimateCallCost`, by function name
 * (k8s.io/apiserver/pkg/cel/library/cost.go in Kubernetes v1.36). `undefined` where they give none.
 */

/** How the estimators size a node: its computed size, else by its path in the schema, else unknown; and a list's element. */
export interface SizeSource {
  sizeEstimate(n: AstNode): CostRange;
  listElementNode(list: AstNode): AstNode | undefined;
}

/** The estimators cel-go's ext lists (v3) and sets libraries register per overload. */
export function extensionCallEstimate(sizes: SizeSource, overload: string, target: AstNode | undefined, args: AstNode[]): { cost: CostRange; resultSize?: CostRange } | undefined {
  const allocating = (costFactor: number, listSize: CostRange) => ({ cost: add(add(factor(listSize, costFactor), fixed(1n)), fixed(LIST_CREATE_BASE)), resultSize: listSize });
  const intLiteral = (n: AstNode, otherwise: bigint): bigint => {
    const e = n.expr;
    if (e?.exprKind.case !== "constExpr" || e.exprKind.value.constantKind.case !== "int64Value") return otherwise;
    const v = e.exprKind.value.constantKind.value;
    return v < 0n ? 0n : v;
  };
  switch (overload) {
    case "list_slice": {
      if (!target || args.length !== 2) return undefined;
      const sz = sizes.sizeEstimate(target);
      const start = intLiteral(args[0]!, 0n);
      const end = intLiteral(args[1]!, sz.max);
      return allocating(1, fixed(BigInt.asUintN(64, end - start)));
    }
    case "list_flatten":
    case "list_flatten_int": {
      if (!target || args.length > 1) return undefined;
      const depth = args.length === 1 ? intLiteral(args[0]!, MAX_UINT64) : 1n;
      return allocating(Number(depth), sizes.sizeEstimate(target));
    }
    case "lists_range":
      if (target || args.length !== 1) return undefined;
      return allocating(1, fixed(intLiteral(args[0]!, MAX_UINT64)));
    case "list_reverse":
      if (!target || args.length !== 0) return undefined;
      return allocating(1, sizes.sizeEstimate(target));
    case "list_distinct": {
      if (!target || args.length !== 0) return undefined;
      const sz = sizes.sizeEstimate(target);
      return allocating(2, mul(sz, sz));
    }
    case "list_sets_contains_list":
    case "list_sets_intersects_list":
    case "list_sets_equivalent_list": {
      if (args.length !== 2) return undefined;
      const product = mul(sizes.sizeEstimate(args[0]!), sizes.sizeEstimate(args[1]!));
      return { cost: add(factor(product, overload === "list_sets_equivalent_list" ? 2 : 1), fixed(1n)) };
    }
    default: {
      const sortBy = /^list_(\w+)_sortByAssociatedKeys$/.exec(overload);
      if (sortBy) {
        // Sorting by the keys list: its size, and a string factor for string or bytes keys.
        if (!target || args.length !== 1) return undefined;
        const sz = sizes.sizeEstimate(args[0]!);
        const f = sortBy[1] === "string" || sortBy[1] === "bytes" ? 2 + STRING_TRAVERSAL : 2;
        return allocating(f, mul(sz, sz));
      }
      const sort = /^list_(\w+)_sort$/.exec(overload);
      if (!sort || !target || args.length !== 0) return undefined;
      const sz = sizes.sizeEstimate(target);
      const f = sort[1] === "string" || sort[1] === "bytes" ? 2 + STRING_TRAVERSAL : 2;
      return allocating(f, mul(sz, sz));
    }
  }
}


/** Kubernetes' library.CostEstimator.EstimateCallCost (k8s.io/apiserver/pkg/cel/library/cost.go), by function name. */
export function kubernetesCallEstimate(sizes: SizeSource, name: string, overload: string, target: AstNode | undefined, args: AstNode[]): { cost: CostRange; resultSize?: CostRange } | undefined {
  const sizeOf = (n: AstNode) => sizes.sizeEstimate(n);
  const traversal = (n: AstNode, f = 1) => factor(sizeOf(n), f * STRING_TRAVERSAL);
  switch (name) {
    case "isSorted":
    case "sum":
    case "max":
    case "min":
    case "indexOf":
    case "lastIndexOf": {
      if (!target) return undefined;
      const el = sizes.listElementNode(target);
      if (el) {
        let elCost = fixed(1n);
        if (el.type.kind === "string" || el.type.kind === "bytes") elCost = add(elCost, factor(sizeOf(el), STRING_TRAVERSAL));
        return { cost: mul(sizeOf(target), elCost) };
      }
      return { cost: traversal(target) };
    }
    case "url":
    case "jsonpatch.escapeKey":
      if (args.length === 1) return { cost: traversal(args[0]!), resultSize: sizeOf(args[0]!) };
      return undefined;
    case "lowerAscii":
    case "upperAscii":
    case "substring":
    case "trim":
      if (target) return { cost: traversal(target), resultSize: sizeOf(target) };
      return undefined;
    case "replace":
      if (target && args.length >= 2) return { cost: traversal(target, 2), resultSize: replaceSize(sizeOf(target), sizeOf(args[0]!), sizeOf(args[1]!)) };
      return undefined;
    case "split": {
      if (!target) return undefined;
      const sz = sizeOf(target);
      let max = sz.max;
      const limit = args[1]?.expr;
      if (limit?.exprKind.case === "constExpr" && limit.exprKind.value.constantKind.case === "int64Value") max = BigInt.asUintN(64, limit.exprKind.value.constantKind.value);
      return { cost: traversal(target, 2), resultSize: { min: 0n, max } };
    }
    case "join": {
      if (!target) return undefined;
      let sz = fixed(0n);
      const listSize = sizeOf(target);
      const el = sizes.listElementNode(target);
      if (el) sz = mul(listSize, sizeOf(el));
      if (args.length > 0) {
        const sep = sizeOf(args[0]!);
        sz = add(sz, mul(sep, { min: listSize.min > 0n ? listSize.min - 1n : 0n, max: listSize.max > 0n ? listSize.max - 1n : 0n }));
      }
      return { cost: factor(sz, STRING_TRAVERSAL), resultSize: sz };
    }
    case "find":
    case "findAll": {
      if (!target || args.length < 1) return undefined;
      const sz = sizeOf(target);
      const str = factor(add(sz, fixed(1n)), STRING_TRAVERSAL);
      const re = factor(sizeOf(args[0]!), REGEX_LENGTH);
      return { cost: mul(str, re), resultSize: { min: 0n, max: sz.max } };
    }
    case "cidr":
    case "isIP":
    case "isCIDR":
      if (args.length >= 1) return { cost: traversal(args[0]!) };
      return undefined;
    case "ip":
      if (overload === "cidr_ip") return { cost: fixed(1n) };
      if (args.length >= 1) return { cost: traversal(args[0]!) };
      return undefined;
    case "ip.isCanonical":
      if (args.length >= 1) return { cost: traversal(args[0]!, 2) };
      return undefined;
    case "masked":
    case "prefixLength":
    case "family":
    case "isUnspecified":
    case "isLoopback":
    case "isLinkLocalMulticast":
    case "isLinkLocalUnicast":
    case "isGlobalUnicast":
      return { cost: fixed(1n) };
    case "containsIP":
    case "containsCIDR": {
      if (args.length < 1) return undefined;
      const ipSize: CostRange = { min: 4n, max: 16n };
      let cost = factor(add(ipSize, ipSize), STRING_TRAVERSAL);
      if (name === "containsCIDR") cost = add(add(cost, factor(ipSize, STRING_TRAVERSAL)), fixed(1n));
      if (overload === "cidr_contains_ip_string" || overload === "cidr_contains_cidr_string") cost = add(cost, traversal(args[0]!));
      return { cost };
    }
    case "quantity":
    case "isQuantity":
    case "semver":
    case "isSemver":
      if (args.length >= 1) return { cost: traversal(args[0]!) };
      return undefined;
    case "validate":
      if (args.length >= 1) return { cost: factor(traversal(args[0]!), 128 * REGEX_LENGTH) };
      return undefined;
    case "format.named":
    case "sign":
    case "asInteger":
    case "isInteger":
    case "asApproximateFloat":
    case "isGreaterThan":
    case "isLessThan":
    case "compareTo":
    case "add":
    case "sub":
    case "major":
    case "minor":
    case "patch":
    case "getScheme":
    case "getHostname":
    case "getHost":
    case "getPort":
    case "getEscapedPath":
    case "getQuery":
      return { cost: fixed(1n) };
    case "_==_": {
      if (args.length !== 2) return undefined;
      const [l, r] = args as [AstNode, AstNode];
      if (!sameType(l.type, r.type)) return undefined;
      if (l.type.kind === "opaque") return { cost: fixed(1n) };
      if (l.type.kind === "struct") {
        if (l.type.name === "kubernetes.NamedFormat") return { cost: factor({ min: 1n, max: 64n }, STRING_TRAVERSAL) };
        if (l.type.name === "kubernetes.URL") {
          // Upstream reads the right operand's size twice.
          const size = r.computedSize ? union(r.computedSize, r.computedSize) : fixed(1n);
          return { cost: factor({ min: 1n, max: size.max }, STRING_TRAVERSAL) };
        }
        return { cost: fixed(1n) };
      }
      return undefined;
    }
    default:
      return undefined;
  }
}

/** The size of `replace()`'s result: Kubernetes' estimate, the longest and shortest replacement applied as often as possible. */
function replaceSize(sz: CostRange, toReplace: CostRange, replaceWith: CostRange): CostRange {
  const count = { min: 0n, max: 0n };
  const retained = { min: 0n, max: 0n };
  if (toReplace.min === 0n) {
    count.max = sz.max < MAX_UINT64 ? sz.max + 1n : sz.max;
    retained.max = sz.max;
  } else if (replaceWith.max <= toReplace.min) {
    retained.max = sz.max;
  } else {
    count.max = BigInt(Math.ceil(Number(sz.max) / Number(toReplace.min)));
  }
  if (toReplace.max === 0n) {
    count.min = sz.min < MAX_UINT64 ? sz.min + 1n : sz.min;
    retained.min = sz.min;
  } else if (toReplace.max <= replaceWith.min) {
    retained.min = sz.min;
  } else {
    count.min = BigInt(Math.ceil(Number(sz.min) / Number(toReplace.max)));
  }
  return add(mul(count, replaceWith), retained);
}
