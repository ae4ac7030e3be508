package article

import (
	"strings"
	"testing"
)

func TestSignature(t *testing.T) {
	body := "<p>" + strings.Repeat("The article's text goes on. ", 12) + "</p>"
	tests := []struct {
		name, content, want string
	}{
		{"a name in bold ends the article", body + `<p><b><i>Stefan Lindqvist</i></b></p>`, "Stefan Lindqvist"},
		{"a name aligned right", body + `<p align="right"><em><font size="2">Denis Lindqvist</font></em></p>`, "Denis Lindqvist"},
		{"a name aligned right by its style", body + `<div style="text-align: right">Ann Lindqvist</div>`, "Ann Lindqvist"},
		{"a name in plain text is not set apart", body + `<p>Ann Lindqvist</p>`, ""},
		{"a bold label is no name", body + `<p><strong>Read more</strong></p>`, ""},
		{"one word is no signature", body + `<p><b>Benni</b></p>`, ""},
		{"a link is no signature", body + `<p><b><a href="/x">Ann Lindqvist</a></b></p>`, ""},
		{"a bold name with more text beside it", body + `<p><b>Ann Lindqvist</b> wrote this</p>`, ""},
		{"a date is no name", body + `<p><b>3 May 2020</b></p>`, ""},
		{"a name alone is no article", `<p><b>Ann Lindqvist</b></p>`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := signature(fragment(t, tt.content)); got != tt.want {
				t.Errorf("signature = %q, want %q", got, tt.want)
			}
		})
	}
}
