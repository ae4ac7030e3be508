package client

import (
	"fmt"
	"math"

	"google.golang.org/protobuf/types/known/structpb"
)

// articleFrom reads the article module's result into an Article straight
// from its google.protobuf.Struct. Result.Decode would give the same
// Article through JSON (a map[string]any, its encoding and its decoding),
// which costs about 0.4 ms a call for the median page's 38 KB result
// (docs/CLIENTS.md, "Overhead"); this reads each value once.
//
// It follows encoding/json's rules for the fields it knows, keys matched
// exactly (the module writes them so): a null leaves a field at its zero
// value, a value of the wrong type is an error, a number for an int field
// must be whole (and under 2^53), and keys it does not know are ignored.
func articleFrom(s *structpb.Struct) (*Article, error) {
	a := &Article{}
	var d structDecoder
	for k, v := range s.GetFields() {
		switch k {
		case "url":
			d.str(k, v, &a.URL)
		case "title":
			d.str(k, v, &a.Title)
		case "byline":
			d.str(k, v, &a.Byline)
		case "published_time":
			d.str(k, v, &a.PublishedTime)
		case "site_name":
			d.str(k, v, &a.SiteName)
		case "description":
			d.str(k, v, &a.Description)
		case "lang":
			d.str(k, v, &a.Lang)
		case "dir":
			d.str(k, v, &a.Dir)
		case "text":
			d.str(k, v, &a.Text)
		case "content_html":
			d.str(k, v, &a.ContentHTML)
		case "markdown":
			d.str(k, v, &a.Markdown)
		case "authors":
			a.Authors = d.strs(k, v)
		case "categories":
			a.Categories = d.strs(k, v)
		case "tags":
			a.Tags = d.strs(k, v)
		case "links":
			items := d.objects(k, v)
			if items != nil {
				a.Links = make([]Link, len(items))
			}
			for i, item := range items {
				for fk, fv := range item.GetFields() {
					switch fk {
					case "url":
						d.str("links.url", fv, &a.Links[i].URL)
					case "text":
						d.str("links.text", fv, &a.Links[i].Text)
					}
				}
			}
		case "media":
			items := d.objects(k, v)
			if items != nil {
				a.Media = make([]Media, len(items))
			}
			for i, item := range items {
				for fk, fv := range item.GetFields() {
					switch fk {
					case "type":
						d.str("media.type", fv, &a.Media[i].Type)
					case "url":
						d.str("media.url", fv, &a.Media[i].URL)
					case "alt":
						d.str("media.alt", fv, &a.Media[i].Alt)
					}
				}
			}
		case "word_count":
			d.int(k, v, &a.WordCount)
		case "reading_time_minutes":
			d.float(k, v, &a.ReadingTimeMinutes)
		case "quality_score":
			d.int(k, v, &a.QualityScore)
		case "selectors":
			a.Selectors = d.selectors(k, v)
		}
	}
	if d.err != nil {
		return nil, d.err
	}
	return a, nil
}

// structDecoder reads typed values out of a Struct, keeping the first
// error (later reads still run, and are harmless).
type structDecoder struct{ err error }

func (d *structDecoder) fail(name string, v *structpb.Value, want string) {
	if d.err == nil {
		d.err = fmt.Errorf("%s: %s, want %s", name, kindOf(v), want)
	}
}

func kindOf(v *structpb.Value) string {
	switch v.GetKind().(type) {
	case *structpb.Value_NumberValue:
		return "a number"
	case *structpb.Value_StringValue:
		return "a string"
	case *structpb.Value_BoolValue:
		return "a boolean"
	case *structpb.Value_StructValue:
		return "an object"
	case *structpb.Value_ListValue:
		return "a list"
	}
	return "null"
}

// null reports whether v is JSON's null (or unset), which leaves a field
// at its zero value.
func null(v *structpb.Value) bool {
	switch v.GetKind().(type) {
	case nil, *structpb.Value_NullValue:
		return true
	}
	return false
}

func (d *structDecoder) str(name string, v *structpb.Value, dst *string) {
	if null(v) {
		return
	}
	s, ok := v.GetKind().(*structpb.Value_StringValue)
	if !ok {
		d.fail(name, v, "a string")
		return
	}
	*dst = s.StringValue
}

func (d *structDecoder) strs(name string, v *structpb.Value) []string {
	if null(v) {
		return nil
	}
	l, ok := v.GetKind().(*structpb.Value_ListValue)
	if !ok {
		d.fail(name, v, "a list of strings")
		return nil
	}
	out := make([]string, len(l.ListValue.GetValues()))
	for i, e := range l.ListValue.GetValues() {
		d.str(name, e, &out[i])
	}
	return out
}

func (d *structDecoder) number(name string, v *structpb.Value) (float64, bool) {
	if null(v) {
		return 0, false
	}
	n, ok := v.GetKind().(*structpb.Value_NumberValue)
	if !ok || math.IsNaN(n.NumberValue) || math.IsInf(n.NumberValue, 0) {
		d.fail(name, v, "a finite number")
		return 0, false
	}
	return n.NumberValue, true
}

func (d *structDecoder) float(name string, v *structpb.Value, dst *float64) {
	if f, ok := d.number(name, v); ok {
		*dst = f
	}
}

func (d *structDecoder) int(name string, v *structpb.Value, dst *int) {
	f, ok := d.number(name, v)
	if !ok {
		return
	}
	// A whole number under 2^53, which a float64 holds exactly. Through
	// JSON, larger ones came back as their shortest decimal form read as
	// an int64: another number, or an error past int64's range.
	if f != math.Trunc(f) || math.Abs(f) >= 1<<53 {
		d.fail(name, v, "a whole number")
		return
	}
	*dst = int(f)
}

// objects returns the objects of the list v, a null element as a nil
// (empty) object; nil for null, an empty slice for an empty list.
func (d *structDecoder) objects(name string, v *structpb.Value) []*structpb.Struct {
	if null(v) {
		return nil
	}
	l, ok := v.GetKind().(*structpb.Value_ListValue)
	if !ok {
		d.fail(name, v, "a list of objects")
		return nil
	}
	out := make([]*structpb.Struct, len(l.ListValue.GetValues()))
	for i, e := range l.ListValue.GetValues() {
		if null(e) {
			continue
		}
		s, ok := e.GetKind().(*structpb.Value_StructValue)
		if !ok {
			d.fail(name, e, "an object")
			continue
		}
		out[i] = s.StructValue
	}
	return out
}

func (d *structDecoder) selectors(name string, v *structpb.Value) map[string][]string {
	if null(v) {
		return nil
	}
	s, ok := v.GetKind().(*structpb.Value_StructValue)
	if !ok {
		d.fail(name, v, "an object")
		return nil
	}
	out := make(map[string][]string, len(s.StructValue.GetFields()))
	for k, e := range s.StructValue.GetFields() {
		out[k] = d.strs(name+"."+k, e)
	}
	return out
}
