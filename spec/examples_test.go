package spec_test

import (
	"bytes"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"

	execnetconform "github.com/execnet-conform/execnet-conform"
	"github.com/execnet-conform/execnet-conform/reference/codec"
)

// TestExamplesAgainstCodec checks table 4.11 of SPEC.md: the reference
// codec encodes each value to exactly the bytes shown and decodes them back
// to an equal value.
func TestExamplesAgainstCodec(t *testing.T) {
	md := execnetconform.SpecMarkdown
	i := strings.Index(md, "### 4.11 Examples")
	j := strings.Index(md, "## 5. Limits")
	if i < 0 || j < i {
		t.Fatal("section 4.11 not found")
	}
	row := regexp.MustCompile("(?m)^\\| `(.+)` \\| `([0-9a-f ]+)` \\|$")
	rows := row.FindAllStringSubmatch(md[i:j], -1)
	if len(rows) < 25 {
		t.Fatalf("only %d example rows", len(rows))
	}
	for _, r := range rows {
		lit, want := r[1], strings.ReplaceAll(r[2], " ", "")
		v, err := codec.ParseLiteral(lit)
		if err != nil {
			t.Errorf("%s: ParseLiteral: %v", lit, err)
			continue
		}
		got, err := codec.Dumps(v)
		if err != nil {
			t.Errorf("%s: Dumps: %v", lit, err)
			continue
		}
		if hex.EncodeToString(got) != want {
			t.Errorf("%s: codec writes %x, SPEC.md says %s", lit, got, want)
		}
		wb, _ := hex.DecodeString(want)
		back, err := codec.Loads(wb)
		if err != nil {
			t.Errorf("%s: Loads: %v", lit, err)
			continue
		}
		again, err := codec.Dumps(back)
		if err != nil || !bytes.Equal(again, wb) {
			t.Errorf("%s: decode and re-encode gives %x, %v", lit, again, err)
		}
	}
}
