// Package hostile holds mnconv's tests against hostile input, and the
// property the importers' fuzz targets check (property.go: a file that
// imports validates, exports and imports again, within a time and
// allocation budget).
//
//   - TestMalformedCorpus loads every file of testdata/malformed (at the
//     repository root) through importers.Load and checks that each is
//     refused with the error its table names, without a panic, within 64 MiB
//     of allocation and 2 s.
//   - TestCorpusUpToDate regenerates the corpus in memory from the small
//     models built in gen_test.go and compares it with the committed files;
//     `go test ./hostile -run TestCorpusUpToDate -update` (or go generate)
//     rewrites them.
//   - TestLongChain sends a 10,000-node chain through every graph walk:
//     both importers, Validate, TopoSort, passes.Run and both exporters,
//     with the goroutine stack capped so that a recursive walk fails.
//
// Phase: tests of the import, pass and export phases. It imports no
// importer outside its tests (so the importers' tests can import it), reads
// testdata/malformed and writes there only under -update.
package hostile

//go:generate go test -run ^TestCorpusUpToDate$ -update
