package native

import (
	"errors"
	"strings"
	"sync"
	"testing"
)

func TestNewDocumentErrors(t *testing.T) {
	tests := []struct {
		name   string
		src    string
		limits Limits
		want   error
	}{
		{"empty", "", Limits{}, ErrEmptyDocument},
		{"over limit", strings.Repeat("x", 11), Limits{MaxDocumentBytes: 10}, ErrDocumentTooLarge},
		{"at limit", strings.Repeat("x", 10), Limits{MaxDocumentBytes: 10}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := NewDocument(tt.src, tt.limits)
			if !errors.Is(err, tt.want) {
				t.Fatalf("NewDocument: err = %v, want %v", err, tt.want)
			}
			if err == nil && doc.Source() != tt.src {
				t.Errorf("Source() = %q, want %q", doc.Source(), tt.src)
			}
		})
	}
}

func TestDecodeDocument(t *testing.T) {
	const cafe = "café €"
	tests := []struct {
		name        string
		raw         []byte
		contentType string
		limits      Limits
		wantText    string
		wantErr     error
	}{
		{
			name:        "windows-1252 from Content-Type",
			raw:         []byte("<p>caf\xe9 \x80</p>"),
			contentType: "text/html; charset=windows-1252",
			wantText:    cafe,
		},
		{
			name:        "Content-Type label is case- and space-insensitive",
			raw:         []byte("<p>caf\xe9 \x80</p>"),
			contentType: `text/html; charset="Windows-1252"`,
			wantText:    cafe,
		},
		{
			name:        "Content-Type overrides meta",
			raw:         []byte(`<meta charset="utf-8"><p>caf` + "\xe9 \x80</p>"),
			contentType: "text/html; charset=windows-1252",
			wantText:    cafe,
		},
		{
			name:        "unknown Content-Type label falls through to meta",
			raw:         []byte(`<meta charset="windows-1252"><p>caf` + "\xe9 \x80</p>"),
			contentType: "text/html; charset=no-such-charset",
			wantText:    cafe,
		},
		{
			name:     "meta charset",
			raw:      []byte(`<html><head><meta charset="windows-1252"></head><body><p>caf` + "\xe9 \x80</p>"),
			wantText: cafe,
		},
		{
			name:     "meta http-equiv",
			raw:      []byte(`<meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-1"><p>caf` + "\xe9 \x80</p>"),
			wantText: cafe, // ISO-8859-1 is windows-1252 per the Encoding Standard
		},
		{
			name:     "meta declaring utf-16 means utf-8",
			raw:      []byte(`<meta charset="utf-16"><p>` + cafe + "</p>"),
			wantText: cafe,
		},
		{
			name:     "UTF-8 BOM wins over meta",
			raw:      []byte("\xef\xbb\xbf<meta charset=\"windows-1252\"><p>" + cafe + "</p>"),
			wantText: cafe,
		},
		{
			name:        "UTF-16LE BOM wins over Content-Type",
			raw:         utf16LE("\ufeff<p>" + cafe + "</p>"),
			contentType: "text/html; charset=windows-1252",
			wantText:    cafe,
		},
		{
			name:     "UTF-16BE BOM",
			raw:      utf16BE("\ufeff<p>" + cafe + "</p>"),
			wantText: cafe,
		},
		{
			name:     "UTF-8 default without any hint",
			raw:      []byte(strings.Repeat("<p>ascii</p>", 200) + "<p>" + cafe + "</p>"),
			wantText: strings.TrimSpace(strings.Repeat("ascii ", 200)) + " " + cafe,
		},
		{
			name:     "invalid UTF-8 is repaired",
			raw:      []byte("<p>a\xffb</p>"),
			wantText: "a\ufffdb",
		},
		{
			name:        "malformed Content-Type is ignored",
			raw:         []byte("<p>" + cafe + "</p>"),
			contentType: "text/html; charset",
			wantText:    cafe,
		},
		{name: "empty", raw: nil, wantErr: ErrEmptyDocument},
		{name: "raw over limit", raw: []byte("<p>12345</p>"), limits: Limits{MaxDocumentBytes: 8}, wantErr: ErrDocumentTooLarge},
		{
			// Each 0xE9 is one byte in windows-1252 and two in UTF-8.
			name:        "decoded over limit",
			raw:         []byte(strings.Repeat("\xe9", 8)),
			contentType: "text/html; charset=windows-1252",
			limits:      Limits{MaxDocumentBytes: 10},
			wantErr:     ErrDocumentTooLarge,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := DecodeDocument(tt.raw, tt.contentType, tt.limits)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("DecodeDocument: err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			text, err := doc.Text()
			if err != nil {
				t.Fatal(err)
			}
			if text != tt.wantText {
				t.Errorf("Text() = %q, want %q", text, tt.wantText)
			}
		})
	}
}

func utf16LE(s string) []byte {
	var b []byte
	for _, r := range s { // BMP only, enough for the tests
		b = append(b, byte(r), byte(r>>8))
	}
	return b
}

func utf16BE(s string) []byte {
	var b []byte
	for _, r := range s {
		b = append(b, byte(r>>8), byte(r))
	}
	return b
}

func TestDocumentText(t *testing.T) {
	tests := []struct {
		name, html, want string
	}{
		{"collapses white space", "<p>  a \n\t b  </p>", "a b"},
		{"nbsp is white space", "<p>a&nbsp;&nbsp;b</p>", "a b"},
		{"inline markup joins", "<p>w<b>or</b>d</p>", "word"},
		{"block boundaries separate", "<ul><li>one</li><li>two</li></ul><p>three</p>", "one two three"},
		{"br separates", "a<br>b", "a b"},
		{"hidden elements", "<head><style>x{}</style><script>var x</script></head><body>a<noscript>no</noscript><template><p>t</p></template>b</body>", "ab"},
		{"title is text", "<title>T</title><p>b</p>", "T b"},
		{"entities decoded", "<p>a &amp; b &lt;c&gt;</p>", "a & b <c>"},
		{"comments ignored", "<p>a<!-- c -->b</p>", "ab"},
		{"no text", "<div><img src=x></div>", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := mustDoc(t, tt.html)
			got, err := doc.Text()
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Text() = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestDocumentConcurrent checks that concurrent first uses parse once and
// agree (run with -race).
func TestDocumentConcurrent(t *testing.T) {
	doc := mustDoc(t, "<p>a</p><p>b</p>")
	var wg sync.WaitGroup
	roots := make(chan any, 8)
	for range 8 {
		wg.Go(func() {
			root, err := doc.Root()
			if err != nil {
				t.Error(err)
			}
			if _, err := doc.Text(); err != nil {
				t.Error(err)
			}
			roots <- root
		})
	}
	wg.Wait()
	close(roots)
	first := <-roots
	for r := range roots {
		if r != first {
			t.Fatal("Root returned different trees")
		}
	}
}

func mustDoc(t testing.TB, src string) *Document {
	t.Helper()
	doc, err := NewDocument(src, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return doc
}
