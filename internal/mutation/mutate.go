package mutation

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"strings"
)

// Operator names, as they appear in mutant ids.
const (
	OpCmpBoundary = "cmp-boundary" // < <=, > >= (off by one)
	OpCmpNegate   = "cmp-negate"   // == !=, < >=, > <=
	OpLogical     = "logical"      // && ||
	OpArith       = "arith"        // + -, * /, % *
	OpBitwise     = "bitwise"      // & |, << >>, &^ &
	OpAssignOp    = "assign-op"    // += -=, |= &=, ...
	OpIncDec      = "incdec"       // ++ --
	OpNotRemove   = "not-remove"   // !x to x
	OpNegRemove   = "neg-remove"   // -x to x
	OpBool        = "bool"         // true false
	OpIntInc      = "int-inc"      // integer literal n to n+1
	OpIntDec      = "int-dec"      // integer literal n to n-1
	OpIfNegate    = "if-negate"    // if c to if !(c)
	OpCallRemove  = "call-remove"  // a call statement removed
	OpErrNil      = "err-nil"      // return ..., err to return ..., nil
)

// Mutant is one small change of one source file.
type Mutant struct {
	// ID names the mutant stably: file, function, operator and the
	// ordinal of that operator's mutants in that function, for example
	// "reference/codec/decode.go:(*Decoder).item:cmp-boundary:3". It does
	// not change when code outside the function moves, so explanations
	// keyed by it carry over to a later run.
	ID   string `json:"id"`
	File string `json:"file"` // slash-separated, relative to the module root
	Func string `json:"func"` // "F", "T.M" or "(*T).M"
	Op   string `json:"op"`
	Line int    `json:"line"`
	// Start and End are the byte offsets in the file of the replaced
	// text; Old is that text and New its replacement.
	Start int    `json:"-"`
	End   int    `json:"-"`
	Old   string `json:"old"`
	New   string `json:"new"`
}

// Apply returns src with the mutant's change made. src must be the text
// the mutant was generated from.
func (m Mutant) Apply(src []byte) ([]byte, error) {
	if m.Start < 0 || m.End > len(src) || m.Start > m.End || string(src[m.Start:m.End]) != m.Old {
		return nil, fmt.Errorf("mutation: %s does not apply to this text of %s", m.ID, m.File)
	}
	out := make([]byte, 0, len(src)+len(m.New)-len(m.Old))
	out = append(out, src[:m.Start]...)
	out = append(out, m.New...)
	return append(out, src[m.End:]...), nil
}

// Generate returns the mutants of one Go source file, in source order.
// file is the name used in ids (relative to the module root); only
// functions for which include returns true are mutated (nil includes
// every function). Code outside function bodies (package-level
// declarations) is never mutated.
func Generate(file string, src []byte, include func(funcName string) bool) ([]Mutant, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, src, parser.SkipObjectResolution)
	if err != nil {
		return nil, fmt.Errorf("mutation: %w", err)
	}
	var out []Mutant
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Body == nil {
			continue
		}
		name := FuncName(fd)
		if include != nil && !include(name) {
			continue
		}
		g := &gen{fset: fset, src: src, file: file, fn: name, seen: map[string]int{}}
		g.funcResultsErr = resultsEndInError(fd.Type)
		g.walk(fd.Body)
		out = append(out, g.out...)
	}
	return out, nil
}

// FuncName returns the name of a function declaration as the Go linker
// spells it without the package path: "F", "T.M" or "(*T).M" (type
// parameters dropped).
func FuncName(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return fd.Name.Name
	}
	t := fd.Recv.List[0].Type
	star := false
	if s, ok := t.(*ast.StarExpr); ok {
		star, t = true, s.X
	}
	switch x := t.(type) {
	case *ast.IndexExpr:
		t = x.X
	case *ast.IndexListExpr:
		t = x.X
	}
	id, _ := t.(*ast.Ident)
	tn := "?"
	if id != nil {
		tn = id.Name
	}
	if star {
		return "(*" + tn + ")." + fd.Name.Name
	}
	return tn + "." + fd.Name.Name
}

func resultsEndInError(ft *ast.FuncType) bool {
	if ft.Results == nil || len(ft.Results.List) == 0 {
		return false
	}
	id, ok := ft.Results.List[len(ft.Results.List)-1].Type.(*ast.Ident)
	return ok && id.Name == "error"
}

type gen struct {
	fset           *token.FileSet
	src            []byte
	file, fn       string
	funcResultsErr bool
	seen           map[string]int
	out            []Mutant
}

func (g *gen) add(op string, start, end token.Pos, repl string) {
	s, e := g.fset.Position(start).Offset, g.fset.Position(end).Offset
	old := string(g.src[s:e])
	if old == repl {
		return
	}
	k := g.seen[op]
	g.seen[op] = k + 1
	g.out = append(g.out, Mutant{
		ID:   fmt.Sprintf("%s:%s:%s:%d", g.file, g.fn, op, k),
		File: g.file, Func: g.fn, Op: op, Line: g.fset.Position(start).Line,
		Start: s, End: e, Old: old, New: repl,
	})
}

func (g *gen) text(n ast.Node) string {
	return string(g.src[g.fset.Position(n.Pos()).Offset:g.fset.Position(n.End()).Offset])
}

var binarySwaps = map[token.Token][]struct {
	op string
	to token.Token
}{
	token.LSS:     {{OpCmpBoundary, token.LEQ}, {OpCmpNegate, token.GEQ}},
	token.LEQ:     {{OpCmpBoundary, token.LSS}, {OpCmpNegate, token.GTR}},
	token.GTR:     {{OpCmpBoundary, token.GEQ}, {OpCmpNegate, token.LEQ}},
	token.GEQ:     {{OpCmpBoundary, token.GTR}, {OpCmpNegate, token.LSS}},
	token.EQL:     {{OpCmpNegate, token.NEQ}},
	token.NEQ:     {{OpCmpNegate, token.EQL}},
	token.LAND:    {{OpLogical, token.LOR}},
	token.LOR:     {{OpLogical, token.LAND}},
	token.ADD:     {{OpArith, token.SUB}},
	token.SUB:     {{OpArith, token.ADD}},
	token.MUL:     {{OpArith, token.QUO}},
	token.QUO:     {{OpArith, token.MUL}},
	token.REM:     {{OpArith, token.MUL}},
	token.AND:     {{OpBitwise, token.OR}},
	token.OR:      {{OpBitwise, token.AND}},
	token.XOR:     {{OpBitwise, token.AND}},
	token.AND_NOT: {{OpBitwise, token.AND}},
	token.SHL:     {{OpBitwise, token.SHR}},
	token.SHR:     {{OpBitwise, token.SHL}},
}

var assignSwaps = map[token.Token]token.Token{
	token.ADD_ASSIGN: token.SUB_ASSIGN, token.SUB_ASSIGN: token.ADD_ASSIGN,
	token.MUL_ASSIGN: token.QUO_ASSIGN, token.QUO_ASSIGN: token.MUL_ASSIGN,
	token.OR_ASSIGN: token.AND_ASSIGN, token.AND_ASSIGN: token.OR_ASSIGN,
	token.SHL_ASSIGN: token.SHR_ASSIGN, token.SHR_ASSIGN: token.SHL_ASSIGN,
	token.XOR_ASSIGN: token.AND_ASSIGN,
}

func (g *gen) walk(body *ast.BlockStmt) {
	// inErrFunc tracks whether the innermost enclosing function (the
	// declaration or a literal) returns an error last.
	var stack []bool
	stack = append(stack, g.funcResultsErr)
	var visit func(n ast.Node) bool
	visit = func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.FuncLit:
			stack = append(stack, resultsEndInError(x.Type))
			ast.Inspect(x.Body, visit)
			stack = stack[:len(stack)-1]
			return false
		case *ast.BinaryExpr:
			for _, s := range binarySwaps[x.Op] {
				g.add(s.op, x.OpPos, x.OpPos+token.Pos(len(x.Op.String())), s.to.String())
			}
		case *ast.AssignStmt:
			if to, ok := assignSwaps[x.Tok]; ok {
				g.add(OpAssignOp, x.TokPos, x.TokPos+token.Pos(len(x.Tok.String())), to.String())
			}
		case *ast.IncDecStmt:
			to := token.INC
			if x.Tok == token.INC {
				to = token.DEC
			}
			g.add(OpIncDec, x.TokPos, x.TokPos+2, to.String())
		case *ast.UnaryExpr:
			switch x.Op {
			case token.NOT:
				g.add(OpNotRemove, x.OpPos, x.OpPos+1, "")
			case token.SUB:
				g.add(OpNegRemove, x.OpPos, x.OpPos+1, "")
			}
		case *ast.Ident:
			switch x.Name {
			case "true":
				g.add(OpBool, x.Pos(), x.End(), "false")
			case "false":
				g.add(OpBool, x.Pos(), x.End(), "true")
			}
		case *ast.BasicLit:
			if x.Kind == token.INT {
				if v, err := strconv.ParseInt(strings.ReplaceAll(x.Value, "_", ""), 0, 64); err == nil {
					g.add(OpIntInc, x.Pos(), x.End(), intLit(x.Value, v+1))
					if v > 0 {
						g.add(OpIntDec, x.Pos(), x.End(), intLit(x.Value, v-1))
					}
				}
			}
		case *ast.IfStmt:
			g.add(OpIfNegate, x.Cond.Pos(), x.Cond.End(), "!("+g.text(x.Cond)+")")
		case *ast.ExprStmt:
			if _, ok := x.X.(*ast.CallExpr); ok {
				g.add(OpCallRemove, x.Pos(), x.End(), "")
			}
		case *ast.ReturnStmt:
			if stack[len(stack)-1] && len(x.Results) > 0 {
				last := x.Results[len(x.Results)-1]
				if id, ok := last.(*ast.Ident); !ok || id.Name != "nil" {
					g.add(OpErrNil, last.Pos(), last.End(), "nil")
				}
			}
		}
		return true
	}
	ast.Inspect(body, visit)
}

// intLit writes v in the base of the literal lit.
func intLit(lit string, v int64) string {
	l := strings.ToLower(lit)
	switch {
	case strings.HasPrefix(l, "0x"):
		return "0x" + strconv.FormatInt(v, 16)
	case strings.HasPrefix(l, "0b"):
		return "0b" + strconv.FormatInt(v, 2)
	case strings.HasPrefix(l, "0o"):
		return "0o" + strconv.FormatInt(v, 8)
	case len(l) > 1 && l[0] == '0':
		return "0" + strconv.FormatInt(v, 8)
	}
	return strconv.FormatInt(v, 10)
}
