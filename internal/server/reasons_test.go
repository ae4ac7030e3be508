package server

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestReasonsDocumented enumerates the ErrorInfo reasons in the code and
// checks them against the README's error table, both ways: every reason
// the server can send is documented, and every documented reason exists.
// It also checks that every status the package builds goes through
// statusError with a Reason constant, so that the enumeration is whole.
func TestReasonsDocumented(t *testing.T) {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, ".", func(fi os.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, 0)
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]string{} // constant name -> value
	for _, pkg := range pkgs {
		for _, f := range pkg.Files {
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.ValueSpec:
					for i, name := range n.Names {
						if !strings.HasPrefix(name.Name, "Reason") || i >= len(n.Values) {
							continue
						}
						lit, ok := n.Values[i].(*ast.BasicLit)
						if !ok || lit.Kind != token.STRING {
							t.Errorf("%s: %s is not a string literal", fset.Position(name.Pos()), name.Name)
							continue
						}
						reasons[name.Name], _ = strconv.Unquote(lit.Value)
					}
				case *ast.CallExpr:
					checkStatusCall(t, fset, n)
				}
				return true
			})
		}
	}
	if len(reasons) < 10 {
		t.Fatalf("found %d Reason constants; the parse is wrong", len(reasons))
	}

	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := errorTableReasons(t, string(readme))
	for name, value := range reasons {
		if !slices.Contains(documented, value) {
			t.Errorf("%s = %q is not in the README's error table", name, value)
		}
	}
	for _, value := range documented {
		found := false
		for _, v := range reasons {
			found = found || v == value
		}
		if !found {
			t.Errorf("the README's error table lists %q, which the code never sends", value)
		}
	}
}

// checkStatusCall fails on a status built other than by statusError with a
// Reason constant: status.New, status.Error and status.Errorf are allowed
// only in statusError itself and for the caller's own deadline or
// cancellation (contextOr), which carry no reason.
func checkStatusCall(t *testing.T, fset *token.FileSet, call *ast.CallExpr) {
	t.Helper()
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if id, isIdent := call.Fun.(*ast.Ident); isIdent && id.Name == "statusError" {
		if len(call.Args) < 2 {
			return
		}
		if r, ok := call.Args[1].(*ast.Ident); !ok || !strings.HasPrefix(r.Name, "Reason") {
			t.Errorf("%s: statusError with a reason that is not a Reason constant", fset.Position(call.Pos()))
		}
		return
	}
	if !ok {
		return
	}
	if pkg, ok := sel.X.(*ast.Ident); !ok || pkg.Name != "status" {
		return
	}
	switch sel.Sel.Name {
	case "New", "Newf", "Error", "Errorf":
	default:
		return
	}
	pos := fset.Position(call.Pos())
	allowed := map[string]bool{}
	for _, arg := range call.Args {
		if s, ok := arg.(*ast.SelectorExpr); ok {
			allowed[s.Sel.Name] = true
		}
	}
	switch {
	case allowed["DeadlineExceeded"], allowed["Canceled"]:
		// The caller's own deadline or cancellation.
	case strings.HasSuffix(pos.Filename, "status.go") && sel.Sel.Name == "New":
		// statusError itself.
	default:
		t.Errorf("%s: status.%s builds a status without an ErrorInfo; use statusError", pos, sel.Sel.Name)
	}
}

// errorTableReasons returns the reasons in the README's "### Errors" table:
// every `UPPER_CASE` name in its last column.
func errorTableReasons(t *testing.T, readme string) []string {
	t.Helper()
	_, section, ok := strings.Cut(readme, "\n### Errors\n")
	if !ok {
		t.Fatal("README has no ### Errors section")
	}
	if end := strings.Index(section, "\n#"); end >= 0 {
		section = section[:end]
	}
	name := regexp.MustCompile("`([A-Z][A-Z_]+)`")
	var out []string
	for line := range strings.SplitSeq(section, "\n") {
		if !strings.HasPrefix(line, "|") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "| "), "|")
		for _, m := range name.FindAllStringSubmatch(cells[len(cells)-1], -1) {
			out = append(out, m[1])
		}
	}
	if len(out) == 0 {
		t.Fatal("README's error table lists no reason")
	}
	return out
}
