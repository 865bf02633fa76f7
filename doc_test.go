package execnetconform

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestPackageDocsOpenWithExample checks that the package documentation of
// the main public packages shows how to use them (a code block, as
// net/http's does) within its first lines, before the internals.
func TestPackageDocsOpenWithExample(t *testing.T) {
	const within = 12 // lines of the package comment
	for _, dir := range []string{"reference/gateway", "reference/codec", "conformance"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		var doc string
		for _, name := range files {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ParseComments|parser.PackageClauseOnly)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if f.Doc != nil {
				doc = docText(f.Doc)
			}
		}
		if doc == "" {
			t.Errorf("%s: no package comment", dir)
			continue
		}
		lines := strings.Split(doc, "\n")
		code := -1
		for i, l := range lines {
			if strings.HasPrefix(l, "\t") {
				code = i
				break
			}
		}
		if code < 0 || code >= within {
			t.Errorf("%s: the package comment's first code block is at line %d, want an example within its first %d lines", dir, code+1, within)
		}
	}
}

func docText(cg *ast.CommentGroup) string {
	var b strings.Builder
	for _, c := range cg.List {
		l := strings.TrimPrefix(c.Text, "//")
		l = strings.TrimPrefix(l, " ")
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}
