package native

import "errors"

// errBudget stops html.Render once a value has outgrown the result budget,
// so rendering a huge subtree costs at most the budget, not the subtree.
var errBudget = errors.New("native: result budget exceeded")

// budgetWriter appends to buf up to max bytes. It has WriteByte and
// WriteString so that html.Render uses it directly instead of wrapping it
// in a fresh 4 KB bufio.Writer on every call.
type budgetWriter struct {
	buf []byte
	max int
}

func (w *budgetWriter) Write(p []byte) (int, error) {
	if len(w.buf)+len(p) > w.max {
		return 0, errBudget
	}
	w.buf = append(w.buf, p...)
	return len(p), nil
}

func (w *budgetWriter) WriteString(s string) (int, error) {
	if len(w.buf)+len(s) > w.max {
		return 0, errBudget
	}
	w.buf = append(w.buf, s...)
	return len(s), nil
}

func (w *budgetWriter) WriteByte(b byte) error {
	if len(w.buf)+1 > w.max {
		return errBudget
	}
	w.buf = append(w.buf, b)
	return nil
}
