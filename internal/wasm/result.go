package wasm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/types/known/structpb"
)

// Bounds on what the host builds from a guest's answer. They are part of
// the guest ABI (docs/wasm-abi.md, "Limits") and published in
// ListExtractors.
const (
	// MaxResultDepth is how deeply a result may nest objects and arrays,
	// the "ok" object itself being depth 1. Each level of a
	// google.protobuf.Struct is up to three levels of protobuf messages
	// (Struct, its map entry, Value), and protobuf's C++, Java and Python
	// runtimes refuse messages nested more than 100 deep: 32 levels, inside
	// the ExtractResponse, stay under that.
	MaxResultDepth = 32
	// MaxGuestTextBytes bounds a guest's error message and the excerpt of
	// its standard error that the host passes on, after both are made
	// valid UTF-8: they go into gRPC statuses, events and log lines, where
	// a large or malformed text would break the client's connection or the
	// events stream.
	MaxGuestTextBytes = 2 << 10
	// maxGuestCodeBytes bounds the code of a guest's error envelope.
	maxGuestCodeBytes = 64
	// ValueCost is what each value of a result (every array element and
	// object member's value, string, number, boolean and null) counts
	// toward the result's converted size; a string counts 16 more and its
	// bytes and an eighth; an array counts ArrayCost more, an object ObjectCost more,
	// and each object member MemberCost plus its key's bytes. These are
	// about what a google.protobuf.Value, ListValue, Struct and map entry
	// cost on the host's heap (TestConvertedSizeBoundsHeap checks it), so
	// that MaxResultBytes bounds both the heap a conversion takes and the
	// protobuf bytes sent: a megabyte of JSON numbers ("1,1,1,...") is half
	// a million values, some 48 MB once converted.
	ValueCost  = 96
	ArrayCost  = 64
	ObjectCost = 320
	MemberCost = 64
)

// ErrResultTooDeep reports a result nested deeper than MaxResultDepth. The
// instance stays usable. It matches ErrResultTooLarge too: clients are told
// the result exceeds a limit of the daemon.
var ErrResultTooDeep = fmt.Errorf("%w: nested too deeply", ErrResultTooLarge)

// resultDecoder turns a guest's result envelope into a Struct, charging
// every value to a budget so that a result costs the host at most
// MaxResultBytes, however it is shaped. It checks everything the client's
// protobuf runtime will: valid UTF-8, no duplicate keys, finite numbers,
// nesting under MaxResultDepth.
type resultDecoder struct {
	dec    *json.Decoder
	budget int // bytes of converted size left
	limit  int // the budget at the start, for messages
}

// errBudget and errDepth end a decoding that ran over a bound; any other
// error of the decoder is a malformed result.
var (
	errBudget = errors.New("over budget")
	errDepth  = errors.New("too deep")
)

// decodeEnvelope parses the envelope in b, a view of guest memory that it
// does not retain, with at most budget bytes of converted size. It returns
// the "ok" object, or the guest's error code and message (made valid UTF-8
// and cut to MaxGuestTextBytes), or an error: ErrResultTooLarge or
// ErrResultTooDeep when a bound was reached (the guest broke no rule), or a
// non-empty reason when the envelope breaks the ABI.
func decodeEnvelope(b []byte, budget int) (ok *structpb.Struct, code, message string, err error, reason string) {
	d := &resultDecoder{budget: budget, limit: budget}
	return d.envelope(b)
}

// converted is the converted size the decoder charged so far.
func (d *resultDecoder) converted() int { return d.limit - d.budget }

// envelope is decodeEnvelope.
func (d *resultDecoder) envelope(b []byte) (ok *structpb.Struct, code, message string, err error, reason string) {
	// encoding/json replaces invalid UTF-8 rather than refusing it; the ABI
	// wants it refused, and one pass over the bytes is cheap next to the
	// decoding.
	if !utf8.Valid(b) {
		return nil, "", "", nil, "the result is not valid UTF-8"
	}
	d.dec = json.NewDecoder(bytes.NewReader(b))
	d.dec.UseNumber()
	var (
		gotOK, gotErr bool
		guest         struct{ code, message string }
	)
	t, err := d.token()
	if err == nil && t != json.Delim('{') {
		err = errors.New("the result is not a JSON object")
	}
	if err == nil {
		err = d.members(func(key string) error {
			switch key {
			case "ok":
				if gotOK {
					return fmt.Errorf("the envelope has the key %q twice", key)
				}
				gotOK = true
				t, err := d.token()
				if err != nil {
					return err
				}
				if t != json.Delim('{') {
					return errors.New(`the result envelope's "ok" is not a JSON object`)
				}
				ok, err = d.structValue(1)
				return err
			case "error":
				if gotErr {
					return fmt.Errorf("the envelope has the key %q twice", key)
				}
				gotErr = true
				guest.code, guest.message, err = d.guestError()
				return err
			}
			_, err := d.value(1) // keys added by later revisions
			return err
		})
	}
	if err == nil {
		if _, terr := d.dec.Token(); terr != io.EOF {
			err = errors.New("the result envelope is followed by more data")
		}
	}
	switch {
	case errors.Is(err, errBudget):
		return nil, "", "", fmt.Errorf("%w: converted, it takes more than the limit of %d bytes (each value counts %d bytes besides its strings; see docs/wasm-abi.md)", ErrResultTooLarge, d.limit, ValueCost), ""
	case errors.Is(err, errDepth):
		return nil, "", "", fmt.Errorf("%w: more than %d levels of objects and arrays", ErrResultTooDeep, MaxResultDepth), ""
	case err != nil:
		return nil, "", "", nil, err.Error()
	case gotOK && gotErr:
		return nil, "", "", nil, `the result envelope has both "ok" and "error"`
	case gotErr && guest.code == "":
		return nil, "", "", nil, `the result envelope's "error" has no "code"`
	case gotErr:
		return nil, guestText(guest.code, maxGuestCodeBytes), guestText(guest.message, MaxGuestTextBytes), nil, ""
	case !gotOK:
		return nil, "", "", nil, `the result envelope has neither "ok" nor "error"`
	}
	return ok, "", "", nil, ""
}

// token reads the next token, naming a syntax error as the result's fault.
func (d *resultDecoder) token() (json.Token, error) {
	t, err := d.dec.Token()
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("the result is not a JSON envelope: %v", err)
	}
	return t, nil
}

// charge takes n bytes from the budget.
func (d *resultDecoder) charge(n int) error {
	if d.budget -= n; d.budget < 0 {
		return errBudget
	}
	return nil
}

// members reads the members of an object whose '{' has been read,
// calling member for each once its key is read.
func (d *resultDecoder) members(member func(key string) error) error {
	for {
		t, err := d.token()
		if err != nil {
			return err
		}
		if t == json.Delim('}') {
			return nil
		}
		key, _ := t.(string) // the decoder allows nothing else here
		if err := d.charge(MemberCost + len(key)); err != nil {
			return err
		}
		if err := member(key); err != nil {
			return err
		}
	}
}

// structValue reads an object whose '{' has been read, at depth.
func (d *resultDecoder) structValue(depth int) (*structpb.Struct, error) {
	if depth > MaxResultDepth {
		return nil, errDepth
	}
	if err := d.charge(ObjectCost); err != nil {
		return nil, err
	}
	st := &structpb.Struct{Fields: make(map[string]*structpb.Value)}
	err := d.members(func(key string) error {
		if _, dup := st.Fields[key]; dup {
			return fmt.Errorf("the result has the key %q twice in one object", guestText(key, 64))
		}
		v, err := d.value(depth + 1)
		st.Fields[key] = v
		return err
	})
	return st, err
}

// value reads one value at depth.
func (d *resultDecoder) value(depth int) (*structpb.Value, error) {
	t, err := d.token()
	if err != nil {
		return nil, err
	}
	if err := d.charge(ValueCost); err != nil {
		return nil, err
	}
	switch t := t.(type) {
	case json.Delim:
		if t == '{' {
			st, err := d.structValue(depth)
			return structpb.NewStructValue(st), err
		}
		if depth > MaxResultDepth {
			return nil, errDepth
		}
		if err := d.charge(ArrayCost); err != nil {
			return nil, err
		}
		list := new(structpb.ListValue)
		for d.dec.More() {
			v, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			list.Values = append(list.Values, v)
		}
		if _, err := d.token(); err != nil { // ']'
			return nil, err
		}
		return structpb.NewListValue(list), nil
	case string:
		// Its wrapper, and the allocator's rounding of its bytes.
		if err := d.charge(16 + len(t) + len(t)/8); err != nil {
			return nil, err
		}
		return structpb.NewStringValue(t), nil
	case json.Number:
		f, err := strconv.ParseFloat(string(t), 64)
		if err != nil { // out of range: a double cannot hold it
			return nil, fmt.Errorf("the result has the number %.40s, which a double cannot hold", t)
		}
		return structpb.NewNumberValue(f), nil
	case bool:
		return structpb.NewBoolValue(t), nil
	}
	return structpb.NewNullValue(), nil
}

// guestError reads the "error" object of an envelope.
func (d *resultDecoder) guestError() (code, message string, err error) {
	t, err := d.token()
	if err != nil {
		return "", "", err
	}
	if t != json.Delim('{') {
		return "", "", errors.New(`the result envelope's "error" is not a JSON object`)
	}
	err = d.members(func(key string) error {
		v, err := d.value(2)
		if err != nil {
			return err
		}
		s, isString := v.GetKind().(*structpb.Value_StringValue)
		switch {
		case key != "code" && key != "message":
			return nil
		case !isString:
			return fmt.Errorf(`the result envelope's "error.%s" is not a string`, key)
		case key == "code":
			code = s.StringValue
		default:
			message = s.StringValue
		}
		return nil
	})
	return code, message, err
}

// guestText makes text a guest wrote fit to pass on: valid UTF-8 and at most
// limit bytes, cut at a character boundary with "…" marking the cut.
func guestText(s string, limit int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= limit {
		return s
	}
	const ellipsis = "…"
	cut := limit - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}
