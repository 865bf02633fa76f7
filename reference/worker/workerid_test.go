package worker

import (
	"bytes"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// idReference is the grammar WorkerID implements, as a regular
// expression: the scan must agree with it on every line.
var idReference = regexp.MustCompile(`\bid=\\?['"]([A-Za-z0-9_.:@+-]{1,200})\\?['"]`)

func referenceWorkerID(line []byte) string {
	ms := idReference.FindAllSubmatch(line, -1)
	if len(ms) == 0 {
		return ""
	}
	return string(bytes.Clone(ms[len(ms)-1][1]))
}

func TestWorkerIDMatchesGrammar(t *testing.T) {
	lines := []string{
		`id='a'`, `xid='a'`, `_id='a'`, ` id="b"`, `id=\'c\'`, `id=\"d'`, `id=''`, `id='`,
		`id='a id='b'`, `id='a' id='b'`, `id='a'id='b'`, `id=\\'a'`, `(id='x-y.z:1@2+3')`,
		`id='` + strings.Repeat("a", 200) + `'`, `id='` + strings.Repeat("a", 201) + `'`,
		`id='a b'`, `id=='a'`, `id='a'\`, `id='a\'`, `id=a'`,
	}
	alphabet := []byte(`id='"\ab_-.x0=(`)
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 20000; n++ {
		b := make([]byte, r.IntN(24))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		lines = append(lines, string(b))
	}
	for _, l := range lines {
		if got, want := WorkerID([]byte(l)), referenceWorkerID([]byte(l)); got != want {
			t.Errorf("WorkerID(%q) = %q, the grammar gives %q", l, got, want)
		}
	}
}
