package spec

import (
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	execnetconform "github.com/execnet-conform/execnet-conform"
)

func TestSpecParsesClean(t *testing.T) {
	cs, err := Clauses()
	if err != nil {
		t.Fatalf("SPEC.md: %v", err)
	}
	if len(cs) < 120 || len(cs) > 260 {
		t.Errorf("SPEC.md has %d clauses, want roughly 120-200", len(cs))
	}
	for _, c := range cs {
		if !idRE().MatchString(c.ID) {
			t.Errorf("clause id %q is malformed", c.ID)
		}
		switch c.Level {
		case "MUST", "SHOULD", "MAY":
		default:
			t.Errorf("[%s] level %q", c.ID, c.Level)
		}
		if c.Section == "" || c.Text == "" {
			t.Errorf("[%s] has empty section or text: %+v", c.ID, c)
		}
		if strings.Contains(c.Text, "["+c.ID+"]") {
			t.Errorf("[%s] text repeats its anchor", c.ID)
		}
	}
}

func TestLookup(t *testing.T) {
	c, ok := Lookup("SER-INT-1")
	if !ok {
		t.Fatal("Lookup(SER-INT-1) not found")
	}
	if c.Level != "MUST" || c.Section != "4.6 Integers" || !strings.Contains(c.Text, "-2147483648 <= i <= 2147483647") {
		t.Errorf("Lookup(SER-INT-1) = %+v", c)
	}
	if _, ok := Lookup("[FRM-HDR-1]"); !ok {
		t.Error("Lookup with brackets failed")
	}
	if _, ok := Lookup("SER-INT-999"); ok {
		t.Error("Lookup(SER-INT-999) found a clause")
	}
	// A clause continued over several source lines is joined.
	c, _ = Lookup("DM-KIND-1")
	if !strings.HasSuffix(c.Text, "where 4.9 calls for py2str.") {
		t.Errorf("DM-KIND-1 text = %q", c.Text)
	}
}

func TestLevels(t *testing.T) {
	for text, want := range map[string]string{
		"A decoder MUST NOT do x.":                "MUST",
		"It is REQUIRED.":                         "MUST",
		"It SHALL NOT.":                           "MUST",
		"It SHOULD NOT.":                          "SHOULD",
		"It is NOT RECOMMENDED.":                  "SHOULD",
		"It MAY; it is OPTIONAL.":                 "MAY",
		"It MAY, but MUST when y.":                "MUST",
		"It MAY do `MUST` in code.":               "MAY",
		"lower case must and should do not count": "",
		"MUSTARD and MAYBE are not keywords":      "",
	} {
		if got := level(text); got != want {
			t.Errorf("level(%q) = %q, want %q", text, got, want)
		}
	}
}

// TestParserRejects feeds documents that break one rule each and checks
// that parse reports exactly that rule.
func TestParserRejects(t *testing.T) {
	const head = "# T\n\n## 2. Conventions\n\nWords MUST and MAY are fine here.\n\n## 3. Body\n\n"
	cases := []struct {
		name, body, want string
	}{
		{"duplicate id", "[AB-CD-1] X MUST y.\n\n[AB-CD-1] X MUST z.\n", "duplicate clause id [AB-CD-1]"},
		{"malformed lower case", "[ab-cd-1] X MUST y.\n", "malformed clause id [ab-cd-1]"},
		{"malformed no number", "[AB-CD] X MUST y.\n", "malformed clause id [AB-CD]"},
		{"malformed zero", "[AB-CD-0] X MUST y.\n", "malformed clause id [AB-CD-0]"},
		{"malformed no topic", "- [AB-1] X MUST y.\n", "malformed clause id [AB-1]"},
		{"no keyword", "[AB-CD-2] X does y.\n", "clause [AB-CD-2] has no BCP 14 keyword"},
		{"unanchored", "A sender SHOULD do y.\n", "normative keyword outside an anchored clause"},
		{"unanchored list item", "- [AB-CD-3] X MUST y.\n- A sender MAY do z.\n", "normative keyword outside an anchored clause"},
		{"unterminated fence", "```\nx\n", "unterminated code fence"},
		{"bad deviation id", "## Appendix B. Dev\n\n| id | clause | v | b | r |\n|---|---|---|---|---|\n| DEV-x | AB-CD-1 | 1.9 | b | r |\n", "malformed deviation id DEV-x"},
		{"deviation cites unknown clause", "[AB-CD-1] X MUST y.\n\n## Appendix B. Dev\n\n| DEV-1 | AB-CD-9 | 1.9 | b | r |\n", "DEV-1 cites unknown clause AB-CD-9"},
		{"duplicate deviation", "## Appendix B. Dev\n\n| DEV-1 | none | 1.9 | b | r |\n| DEV-1 | none | 1.9 | b | r |\n", "duplicate deviation id DEV-1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(head + tc.body)
			var pe *ProblemError
			if !errors.As(err, &pe) || !errors.Is(err, ErrSpec) {
				t.Fatalf("parse: err = %v, want a *ProblemError", err)
			}
			if len(pe.Problems) != 1 || !strings.Contains(pe.Problems[0], tc.want) {
				t.Errorf("problems = %q, want one containing %q", pe.Problems, tc.want)
			}
		})
	}
}

// TestParserAccepts checks the places where keywords need no anchor and
// how clause text, sections and deviations are read.
func TestParserAccepts(t *testing.T) {
	md := "# T\n\n## 2. Conventions\n\nMUST means MUST.\n\n## 3. Body\n\n### 3.1 Sub\n\n" +
		"| a | b |\n|---|---|\n| MUST in a table | x |\n\n```\nMUST in code\n```\n\n" +
		"Prose with `MUST` in a code span.\n\n" +
		"- [AB-CD-1] A decoder MUST do x\n  and y.\n- [AB-CD-2] An encoder MAY do z.\n\n" +
		"[AB-EF-GH-3] Continued\nover lines SHOULD work.\n\n" +
		"## Appendix B. Deviations\n\nExecnet MUST-free prose? It MAY say MUST here.\n\n" +
		"| id | clause | versions | behaviour | repro |\n|---|---|---|---|---|\n" +
		"| DEV-1 | AB-CD-1, AB-CD-2 | 1.9 | does x | `f()` |\n| DEV-2 | none | 2.x | y | z |\n"
	d, err := parse(md)
	if err != nil {
		t.Fatal(err)
	}
	want := []Clause{
		{"AB-CD-1", "MUST", "3.1 Sub", "A decoder MUST do x and y."},
		{"AB-CD-2", "MAY", "3.1 Sub", "An encoder MAY do z."},
		{"AB-EF-GH-3", "SHOULD", "3.1 Sub", "Continued over lines SHOULD work."},
	}
	if len(d.clauses) != len(want) {
		t.Fatalf("clauses = %+v", d.clauses)
	}
	for i := range want {
		if d.clauses[i] != want[i] {
			t.Errorf("clause %d = %+v, want %+v", i, d.clauses[i], want[i])
		}
	}
	if len(d.deviations) != 2 || d.deviations[0].ID != "DEV-1" ||
		strings.Join(d.deviations[0].Clauses, ",") != "AB-CD-1,AB-CD-2" ||
		d.deviations[0].Versions != "1.9" || len(d.deviations[1].Clauses) != 0 {
		t.Errorf("deviations = %+v", d.deviations)
	}
}

func TestErrorClassesMatchSpec(t *testing.T) {
	md := execnetconform.SpecMarkdown
	i := strings.Index(md, "### 6.2 Error classes")
	j := strings.Index(md, "## 7. Framing")
	if i < 0 || j < i {
		t.Fatal("section 6.2 not found")
	}
	row := regexp.MustCompile("(?m)^\\| `([A-Za-z0-9]+)` \\|")
	var inSpec []string
	for _, m := range row.FindAllStringSubmatch(md[i:j], -1) {
		inSpec = append(inSpec, m[1])
	}
	if got, want := strings.Join(inSpec, ","), strings.Join(ErrorClasses(), ","); got != want {
		t.Errorf("table 6.2 classes = %s\nErrorClasses()   = %s", got, want)
	}
	if !IsErrorClass("Truncated") || IsErrorClass("truncated") || IsErrorClass("EOFError") {
		t.Error("IsErrorClass is wrong")
	}
	ec := ErrorClasses()
	ec[0] = "changed"
	if ErrorClasses()[0] != ClassTruncated {
		t.Error("ErrorClasses shares its slice")
	}
}

func TestDeviations(t *testing.T) {
	ids, err := DeviationIDs()
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) < 13 {
		t.Fatalf("only %d deviations: %v", len(ids), ids)
	}
	// Rows are appended in increasing order and never reused; numbers may
	// be skipped (helpers working at once reserve ranges, e.g. DEV-40 on).
	prev := 0
	for i, id := range ids {
		n, err := strconv.Atoi(strings.TrimPrefix(id, "DEV-"))
		if err != nil || n <= prev {
			t.Errorf("deviation %d is %s, want a number above %d (ids are appended in increasing order, never reused)", i, id, prev)
			continue
		}
		prev = n
	}
	devs, err := Deviations()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range devs {
		if d.Versions == "" || d.Behaviour == "" {
			t.Errorf("%s lacks versions or behaviour", d.ID)
		}
		for _, c := range d.Clauses {
			if _, ok := Lookup(c); !ok {
				t.Errorf("%s cites unknown clause %s", d.ID, c)
			}
		}
	}
}

// TestAnchorsStable fails when an anchor that was once published
// disappears. testdata/anchors.txt only grows: append new anchors to it.
func TestAnchorsStable(t *testing.T) {
	b, err := os.ReadFile("testdata/anchors.txt")
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		id := strings.TrimSpace(line)
		if id == "" || strings.HasPrefix(id, "#") {
			continue
		}
		listed[id] = true
		if _, ok := Lookup(id); !ok {
			t.Errorf("published anchor [%s] is gone from SPEC.md; anchors are stable forever", id)
		}
	}
	cs, _ := Clauses()
	for _, c := range cs {
		if !listed[c.ID] {
			t.Errorf("anchor [%s] is not in testdata/anchors.txt; append it", c.ID)
		}
	}
}

// TestConstsMatchSpec checks consts.go against tables 4.2 and 7.2.
func TestConstsMatchSpec(t *testing.T) {
	md := execnetconform.SpecMarkdown
	op := regexp.MustCompile("(?m)^\\| 0x([0-9A-F]{2}) \\| `(.)` \\| ([A-Z0-9]+) \\|")
	ms := op.FindAllStringSubmatch(md, -1)
	if len(ms) != 21 {
		t.Fatalf("opcode table has %d rows, want 21", len(ms))
	}
	for _, m := range ms {
		o := Opcode(m[2][0])
		if got := strings.ToUpper(hex2(byte(o))); got != m[1] {
			t.Errorf("%s: char %q is 0x%s, table says 0x%s", m[3], m[2], got, m[1])
		}
		if !o.Known() || o.String() != m[3] {
			t.Errorf("opcode 0x%s: consts.go says %s, SPEC.md says %s", m[1], o, m[3])
		}
	}
	mc := regexp.MustCompile("(?m)^\\| ([0-9]) \\| ([A-Z_]+) \\|")
	ms = mc.FindAllStringSubmatch(md, -1)
	if len(ms) != 8 {
		t.Fatalf("message table has %d rows, want 8", len(ms))
	}
	for _, m := range ms {
		c := MsgCode(m[1][0] - '0')
		if c.String() != m[2] {
			t.Errorf("code %s: consts.go says %s, SPEC.md says %s", m[1], c, m[2])
		}
	}
	if !strings.Contains(md, "`"+BootstrapCommand+"`") {
		t.Error("SPEC.md does not quote BootstrapCommand")
	}
	if !strings.Contains(md, `"spec"`) || !strings.Contains(md, "`\""+Version+"\"`") {
		t.Error("SPEC.md does not give the spec version of conform_info")
	}
}

func hex2(b byte) string {
	const h = "0123456789abcdef"
	return string([]byte{h[b>>4], h[b&15]})
}

func TestParseHex(t *testing.T) {
	b, err := parseHex("4e 00000002 c3a9 <3 x 31> 51")
	if err != nil || string(b) != "N\x00\x00\x00\x02\xc3\xa9111Q" {
		t.Errorf("parseHex = %q, %v", b, err)
	}
	for _, bad := range []string{"4", "zz", "<3 x 3>"} {
		if b, err := parseHex(bad); err == nil {
			t.Errorf("parseHex(%q) = % x, want an error", bad, b)
		}
	}
	md := "# T\n\n## Appendix A. Neg\n\n| # | form | input | class | why | x |\n|---|---|---|---|---|---|\n"
	for _, tc := range []struct{ row, want string }{
		{"| A-1 | wire | `4c` | Nonsense | x | y |", "is not an error class"},
		{"| A-1 | disk | `4c` | Truncated | x | y |", "neither wire nor public"},
		{"| A-1 | wire | 4c | Truncated | x | y |", "neither (empty) nor `hex`"},
		{"| A-1 | wire | `4g` | Truncated | x | y |", "bad hex"},
		{"| A-x | wire | `4c` | Truncated | x | y |", "malformed id"},
	} {
		_, err := parse(md + tc.row + "\n")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("row %s: err = %v, want %q", tc.row, err, tc.want)
		}
	}
	d, err := parse(md + "| A-1 | public | (empty) | Truncated | no byte | z |\n| A-2 | wire | `51` | StopStack | empty | z |\n")
	if err != nil || len(d.negatives) != 2 || d.negatives[0].Input != nil || d.negatives[1].Class != "StopStack" {
		t.Errorf("negatives = %+v, %v", d.negatives, err)
	}
}

// TestVectorDeviationTags checks that every deviation id used by the golden
// vectors names a row of Appendix B, so that known-failure lists can cite
// DEV-N for each of them.
func TestVectorDeviationTags(t *testing.T) {
	b, err := os.ReadFile("../testdata/vectors/vectors.json")
	if errors.Is(err, os.ErrNotExist) {
		t.Skip("no golden vectors in this tree")
	}
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Vectors []struct {
			Name      string `json:"name"`
			Deviation *struct {
				ID string `json:"id"`
			} `json:"deviation"`
		} `json:"vectors"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	devs, err := Deviations()
	if err != nil {
		t.Fatal(err)
	}
	tags := map[string]string{}
	for _, d := range devs {
		if d.VectorTag != "" {
			if other, dup := tags[d.VectorTag]; dup {
				t.Errorf("vector tag %s used by %s and %s", d.VectorTag, other, d.ID)
			}
			tags[d.VectorTag] = d.ID
		}
	}
	if len(tags) < 5 {
		t.Fatalf("only %d vector tags in Appendix B", len(tags))
	}
	for _, v := range doc.Vectors {
		if v.Deviation != nil && tags[v.Deviation.ID] == "" {
			t.Errorf("vector %s: deviation %q has no row in SPEC.md Appendix B", v.Name, v.Deviation.ID)
		}
	}
}

func TestClassClauses(t *testing.T) {
	for _, c := range ErrorClasses() {
		ids := ClassClauses(c)
		if len(ids) == 0 {
			t.Errorf("class %s has no clauses in table 6.2", c)
		}
		if strings.Join(ClassClauses("Err"+c), ",") != strings.Join(ids, ",") {
			t.Errorf("ClassClauses(Err%s) differs from ClassClauses(%s)", c, c)
		}
	}
	if got := ClassClauses("Nonsense"); len(got) != 0 {
		t.Errorf("ClassClauses(Nonsense) = %v", got)
	}
	if got := strings.Join(ClassClauses("Version"), ","); got != "SER-PUB-2" {
		t.Errorf("ClassClauses(Version) = %s", got)
	}
}

func TestVectorClauses(t *testing.T) {
	got, err := VectorClauses("reject/utf8/x", "ErrBadUTF8")
	if err != nil || strings.Join(got, ",") != "SER-STR-2,ERR-GEN-1" {
		t.Errorf("VectorClauses(reject/utf8/x) = %v, %v", got, err)
	}
	got, err = VectorClauses("list/unfilled-6-of-6-bytes", "")
	if err != nil || strings.Join(got, ",") != "SER-SM-8,LIM-ALLOC-2" {
		t.Errorf("longest prefix not chosen: %v, %v", got, err)
	}
	if _, err := VectorClauses("nosuchgroup/x", ""); err == nil {
		t.Error("VectorClauses accepted an unknown group")
	}
	got, err = VectorClauses("nosuchgroup/x", "Version")
	if err != nil || strings.Join(got, ",") != "SER-PUB-2,ERR-GEN-1" {
		t.Errorf("reject fallback = %v, %v", got, err)
	}
	if _, err := VectorClauses("reject/utf8/x", "ErrNonsense"); err == nil {
		t.Error("VectorClauses accepted an unknown error class")
	}
	b, err := os.ReadFile("../testdata/vectors/vectors.json")
	if errors.Is(err, os.ErrNotExist) {
		t.Skip("no golden vectors in this tree")
	}
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Vectors []struct {
			Name  string `json:"name"`
			Error string `json:"error"`
		} `json:"vectors"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for _, v := range doc.Vectors {
		ids, err := VectorClauses(v.Name, v.Error)
		if err != nil || len(ids) == 0 {
			t.Errorf("vector %s: %v, %v", v.Name, ids, err)
		}
	}
}

// TestClausesNameWhoTheyBind checks that every clause names the role it
// binds, so that a reader (and a conformance case) knows whom it tests.
func TestClausesNameWhoTheyBind(t *testing.T) {
	role := regexp.MustCompile(`(?i)\b(encoders?|decoders?|senders?|receivers?|workers?|masters?|implementations?|parsers?|sides?|runners?|servers?|conform_\w+|procedures?)\b`)
	cs, err := Clauses()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if !role.MatchString(c.Text) {
			t.Errorf("[%s] names no role (encoder, decoder, sender, receiver, worker, master, implementation, ...): %s", c.ID, c.Text)
		}
	}
}
