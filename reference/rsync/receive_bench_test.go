package rsync

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/execnet-conform/execnet-conform/reference/codec"
)

// feed is a Channel that answers the receiver as a sender would: the
// structure first, then the content of each file asked for, then 42.
type feed struct {
	items   []codec.Value
	content map[string][]byte
	out     []codec.Value // answers queued by Send
	sent    int
}

func (f *feed) Send(_ context.Context, v codec.Value) error {
	f.sent++
	if t, ok := v.(codec.Tuple); ok && t[0] == codec.Str("send") {
		comps := t[1].(codec.Tuple)[0].(codec.List)
		rel := ""
		for i, c := range comps {
			if i > 0 {
				rel += "/"
			}
			rel += string(c.(codec.Str))
		}
		f.out = append(f.out, codec.Bytes(f.content[rel]))
	}
	if t, ok := v.(codec.Tuple); ok && t[0] == codec.Str("links") {
		f.out = append(f.out, codec.Int(42))
	}
	return nil
}

func (f *feed) Receive(context.Context) (codec.Value, error) {
	if len(f.items) > 0 {
		v := f.items[0]
		f.items = f.items[1:]
		return v, nil
	}
	v := f.out[0]
	f.out = f.out[1:]
	return v, nil
}

// BenchmarkReceive measures the receiving side alone, in one process:
// a tree of 1,000 files of 1 KiB in 10 directories, and one of 3 files
// of 50 MiB, written to a fresh destination per iteration.
func BenchmarkReceive(b *testing.B) {
	for _, c := range []struct {
		name        string
		files, size int
	}{{"small", 1000, 1024}, {"large", 3, 50 << 20}} {
		b.Run(c.name, func(b *testing.B) {
			content := map[string][]byte{}
			dirs := min(10, c.files)
			root := codec.List{codec.Int(0o40755)}
			var rest []codec.Value
			for d := range dirs {
				root = append(root, codec.Str(fmt.Sprintf("d%d", d)))
				dl := codec.List{codec.Int(0o40755)}
				var files []codec.Value
				for i := d; i < c.files; i += dirs {
					name := fmt.Sprintf("f%04d", i)
					dl = append(dl, codec.Str(name))
					data := make([]byte, c.size)
					for j := range data {
						data[j] = byte(i + j)
					}
					content[fmt.Sprintf("d%d/%s", d, name)] = data
					files = append(files, codec.Tuple{codec.Int(0o100644), codec.Float(1.7e9), codec.Int(c.size)})
				}
				rest = append(append(rest, dl), files...)
			}
			items := append(codec.List{root}, rest...)
			dir := b.TempDir()
			b.SetBytes(int64(c.files * c.size))
			b.ResetTimer()
			for i := range b.N {
				dest := filepath.Join(dir, fmt.Sprint(i))
				f := &feed{items: append([]codec.Value{codec.Tuple{codec.Str(dest), &codec.Dict{}}}, items...), content: content}
				if err := Receive(context.Background(), f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
