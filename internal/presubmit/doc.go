// Package presubmit holds the module's meta tests: the conventions of
// STYLE.md that a reviewer would otherwise check by hand. Its tests walk the
// whole module and check package doc comments, file names, import
// boundaries, doc comments on exported names and size budgets. The package
// has no code of its own.
package presubmit
