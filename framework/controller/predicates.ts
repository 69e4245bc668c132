/** The public predicates, exported from the package as the `predicates` namespace object. */
export { and, annotationsChanged, filter, generationChanged, labelsChanged, not, or, resourceVersionChanged } from "./predicate.ts";
