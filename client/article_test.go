package client

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
)

// viaJSON is the Article that Result.Decode gives: the JSON round trip
// articleFrom replaces.
func viaJSON(s *structpb.Struct) (*Article, error) {
	var a Article
	r := Result{Result: s.AsMap()}
	if err := r.Decode(&a); err != nil {
		return nil, err
	}
	return &a, nil
}

func TestArticleFrom(t *testing.T) {
	tests := []struct {
		name    string
		json    string
		want    *Article
		wantErr string
	}{
		{"every field", `{"url": "u", "title": "T", "byline": "B", "published_time": "2024", "site_name": "S",
			"description": "D", "lang": "fr", "dir": "ltr", "text": "x", "content_html": "<p>x</p>", "markdown": "x",
			"authors": ["A"], "categories": ["C"], "tags": ["G"], "links": [{"url": "l", "text": "t"}],
			"media": [{"type": "image", "url": "m", "alt": "a"}], "word_count": 1800, "reading_time_minutes": 7.5,
			"quality_score": 80, "selectors": {"h1": ["x", "y"]}}`,
			&Article{URL: "u", Title: "T", Byline: "B", PublishedTime: "2024", SiteName: "S", Description: "D",
				Lang: "fr", Dir: "ltr", Text: "x", ContentHTML: "<p>x</p>", Markdown: "x", Authors: []string{"A"},
				Categories: []string{"C"}, Tags: []string{"G"}, Links: []Link{{URL: "l", Text: "t"}},
				Media: []Media{{Type: "image", URL: "m", Alt: "a"}}, WordCount: 1800, ReadingTimeMinutes: 7.5,
				QualityScore: 80, Selectors: map[string][]string{"h1": {"x", "y"}}}, ""},
		{"nulls leave zero values", `{"title": null, "links": [null, {"url": null}], "authors": null, "selectors": {"h1": null}}`,
			&Article{Links: []Link{{}, {}}, Selectors: map[string][]string{"h1": nil}}, ""},
		{"unknown keys are ignored", `{"title": "T", "extra": {"deep": [1, 2]}, "links": [{"url": "l", "rel": 3}]}`,
			&Article{Title: "T", Links: []Link{{URL: "l"}}}, ""},
		{"a number for a string", `{"title": 3}`, nil, "title: a number, want a string"},
		{"a fraction for an int", `{"word_count": 7.5}`, nil, "word_count: a number, want a whole number"},
		{"an int past int64", `{"quality_score": 1e19}`, nil, "quality_score: a number, want a whole number"},
		{"the largest exact int", `{"word_count": 9007199254740991}`, &Article{WordCount: 1<<53 - 1}, ""},
		{"a string for a number", `{"reading_time_minutes": "7"}`, nil, "reading_time_minutes: a string, want a finite number"},
		{"an object for a list", `{"links": {"url": "l"}}`, nil, "links: an object, want a list of objects"},
		{"a string in the links", `{"links": ["l"]}`, nil, "links: a string, want an object"},
		{"a number in a link", `{"links": [{"text": 1}]}`, nil, "links.text: a number, want a string"},
		{"a list of lists for strings", `{"tags": [["x"]]}`, nil, "tags: a list, want a string"},
		{"a list for the selectors", `{"selectors": ["h1"]}`, nil, "selectors: a list, want an object"},
		{"a boolean in a selector's matches", `{"selectors": {"h1": [true]}}`, nil, "selectors.h1: a boolean, want a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s structpb.Struct
			if err := protojson.Unmarshal([]byte(tt.json), &s); err != nil {
				t.Fatal(err)
			}
			got, err := articleFrom(&s)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				if _, jerr := viaJSON(&s); jerr == nil {
					t.Errorf("through JSON the same result decodes; articleFrom refuses it: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
			if j, err := viaJSON(&s); err != nil || !reflect.DeepEqual(got, j) {
				t.Errorf("through JSON: %+v (%v), directly: %+v", j, err, got)
			}
		})
	}
}

// FuzzArticleFrom: any result a module can send (a JSON object) is read
// without a panic, and as Result.Decode reads it through JSON: both
// refuse it, or both give the same Article. Results with keys that match a
// field only case-insensitively are skipped (encoding/json takes those,
// articleFrom, like the module, does not), and so are counts of 2^53 or
// more (encoding/json reads them back rounded, or refuses them past
// int64's range; articleFrom refuses them).
func FuzzArticleFrom(f *testing.F) {
	f.Add(`{"title": "T", "word_count": 3, "links": [{"url": "u", "text": "t"}, null], "selectors": {"h1": ["x", null]}}`)
	f.Add(`{"word_count": 9007199254740993, "reading_time_minutes": -0, "media": [{"type": 1}]}`)
	f.Add(`{"authors": [], "tags": null, "quality_score": -9.223372036854776e18}`)
	f.Fuzz(func(t *testing.T, in string) {
		var s structpb.Struct
		if protojson.Unmarshal([]byte(in), &s) != nil || caseVariant(&s) || inexactCount(&s) {
			return
		}
		got, err := articleFrom(&s)
		want, jerr := viaJSON(&s)
		if (err == nil) != (jerr == nil) {
			t.Fatalf("directly: %v; through JSON: %v", err, jerr)
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("directly: %+v\nthrough JSON: %+v", got, want)
		}
	})
}

// caseVariant reports whether s, or an object of its links or media, has
// a key that is not one of Article's (or Link's, or Media's) JSON names
// but equals one of them case-insensitively.
func caseVariant(s *structpb.Struct) bool {
	variant := func(fields map[string]*structpb.Value, names ...string) bool {
		for k := range fields {
			for _, n := range names {
				if k != n && strings.EqualFold(k, n) {
					return true
				}
			}
		}
		return false
	}
	at := reflect.TypeFor[Article]()
	var names []string
	for i := range at.NumField() {
		names = append(names, strings.Split(at.Field(i).Tag.Get("json"), ",")[0])
	}
	if variant(s.GetFields(), names...) {
		return true
	}
	for _, key := range []string{"links", "media"} {
		for _, e := range s.GetFields()[key].GetListValue().GetValues() {
			if variant(e.GetStructValue().GetFields(), "url", "text", "type", "alt") {
				return true
			}
		}
	}
	return false
}

// inexactCount reports whether an int field of s holds a whole number of
// 2^53 or more in magnitude.
func inexactCount(s *structpb.Struct) bool {
	for _, k := range []string{"word_count", "quality_score"} {
		n := s.GetFields()[k].GetNumberValue()
		if n == math.Trunc(n) && math.Abs(n) >= 1<<53 {
			return true
		}
	}
	return false
}

// articleResult is an article result shaped as the median page's (about
// 38 KB of JSON: text, HTML and Markdown of the body, 120 links).
func articleResult(tb testing.TB) *structpb.Struct {
	links := make([]any, 120)
	for i := range links {
		links[i] = map[string]any{"url": fmt.Sprintf("https://www.lemonde.fr/a/%d.html", i), "text": "un lien assez long"}
	}
	s, err := structpb.NewStruct(map[string]any{
		"url": "https://www.lemonde.fr/x", "title": "Un titre", "byline": "Par X", "lang": "fr",
		"text": strings.Repeat("Le texte de l'article, été. ", 400), "content_html": strings.Repeat("<p>Le texte</p>", 600),
		"markdown": strings.Repeat("Le texte de l'article\n\n", 300), "links": links,
		"media": []any{map[string]any{"type": "image", "url": "u", "alt": "a"}}, "authors": []any{"X"},
		"word_count": 1800.0, "reading_time_minutes": 7.5, "quality_score": 80.0,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// BenchmarkArticleDecode: what Client.Article spends on the answer of a
// median page, through JSON (as before) and straight from the Struct.
func BenchmarkArticleDecode(b *testing.B) {
	s := articleResult(b)
	for _, w := range []struct {
		name   string
		decode func(*structpb.Struct) (*Article, error)
	}{{"way=json", viaJSON}, {"way=direct", articleFrom}} {
		b.Run(w.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := w.decode(s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
