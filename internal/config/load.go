package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// ErrHelp is returned by Load when --help or -h was given; the caller should
// print FlagUsage and exit successfully.
var ErrHelp = errors.New("config: help requested")

// ErrUnknownKey is wrapped by the error Load returns for a config file key
// that names no variable.
var ErrUnknownKey = errors.New("unknown key")

const programName = "riptide-poold"

// Load builds the configuration from, in rising precedence, the defaults, the
// YAML file named by --config, the environment and the flags, then validates
// it. args are the command-line arguments without the program name; environ
// is the environment in the form of os.Environ.
//
// Every problem found is reported at once, joined with errors.Join; each
// bad setting is an *Error. With --help Load returns ErrHelp; with --version
// it returns the defaults with ShowVersion set, reading nothing else.
func Load(args, environ []string) (*Config, error) {
	vars := Vars()
	fs, flags := newFlagSet(vars)
	if err := fs.Parse(args); err != nil {
		return nil, fmt.Errorf("%w (see --help)", err)
	}
	if flags.help {
		return nil, ErrHelp
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q: settings are given as --flags (see --help)", fs.Arg(0))
	}
	if flags.version {
		c := Default()
		c.ShowVersion = true
		return c, nil
	}

	// Viper holds the layers and picks the value of highest precedence.
	// Its own environment layer reads the process environment, which would
	// make Load depend on the caller's process, so the given environment is
	// merged over the file layer instead: the order is the same.
	v := viper.New()
	var errs []error
	var inFile map[string]bool
	if flags.config != "" {
		keys, err := readFile(v, flags.config)
		if err != nil {
			return nil, err
		}
		inFile = make(map[string]bool, len(keys))
		for _, k := range keys {
			inFile[k] = true
		}
		errs = append(errs, unknownKeys(keys, vars, flags.config)...)
	}

	lookup := envLookup(environ)
	fromEnv := make(map[string]any)
	for _, d := range vars {
		def := d.def
		if d.dynDefault != nil {
			def = d.dynDefault(lookup)
		}
		v.SetDefault(d.Key(), def)
		if s, ok := lookup(d.Name); ok {
			fromEnv[d.Key()] = s
		}
		if err := v.BindPFlag(d.Key(), fs.Lookup(d.Flag())); err != nil {
			panic(err) // every variable has its flag
		}
	}
	if err := v.MergeConfigMap(fromEnv); err != nil {
		return nil, err
	}

	source := func(d Var) string {
		_, env := fromEnv[d.Key()]
		switch {
		case fs.Changed(d.Flag()):
			return "flag --" + d.Flag()
		case env:
			return ""
		case inFile[d.Key()]:
			return fmt.Sprintf("key %s in %s", d.Key(), flags.config)
		}
		return "default"
	}

	c := &Config{ConfigFile: flags.config}
	failed := make(map[string]bool)
	for _, d := range vars {
		raw := v.Get(d.Key())
		if err := assignRaw(c, d, raw); err != nil {
			failed[d.Name] = true
			errs = append(errs, &Error{Var: d.Name, Value: quoteRaw(raw), Source: source(d), Err: err, Accepted: d.Range})
		}
	}
	byName := make(map[string]Var, len(vars))
	for _, d := range vars {
		byName[d.Name] = d
	}
	for _, err := range c.validate(failed) {
		if e, ok := err.(*Error); ok && e.Source == "" {
			if d, ok := byName[e.Var]; ok {
				e.Source = source(d)
			}
		}
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// readFile loads the YAML file at path into v and returns its keys.
func readFile(v *viper.Viper, path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	v.SetConfigType("yaml")
	if err := v.ReadConfig(bytes.NewReader(b)); err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	return v.AllKeys(), nil // no defaults or flags yet: these are the file's
}

// unknownKeys reports the keys that name no variable, each with the closest
// known key when one is near enough to be a typo.
func unknownKeys(keys []string, vars []Var, path string) []error {
	known := make([]string, len(vars))
	for i, d := range vars {
		known[i] = d.Key()
	}
	var errs []error
	slices.Sort(keys)
	for _, k := range keys {
		if slices.Contains(known, k) {
			continue
		}
		hint := " (keys are the variable names in lower case, e.g. wasm_pool_size)"
		if near := nearest(k, known); near != "" {
			hint = fmt.Sprintf(" (did you mean %s?)", near)
		}
		errs = append(errs, fmt.Errorf("config file %s: %w %q%s", path, ErrUnknownKey, k, hint))
	}
	return errs
}

// nearest returns the candidate closest to s in edit distance, if it is
// within a third of its length.
func nearest(s string, candidates []string) string {
	best, bestD := "", len(s)/3+1
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// assignRaw parses a value of any layer into c: a string from the
// environment, a flag or the defaults, or whatever YAML made of the file.
func assignRaw(c *Config, d Var, raw any) error {
	if items, ok := raw.([]any); ok {
		if !d.isList() {
			return errors.New("a list is not accepted here")
		}
		texts := make([]string, 0, len(items))
		for _, it := range items {
			s, ok := scalarText(it)
			if !ok {
				return fmt.Errorf("list item %v is not a scalar", it)
			}
			texts = append(texts, splitList(s, d.sep)...)
		}
		return d.parseList(c, texts)
	}
	s, ok := scalarText(raw)
	if !ok {
		return errors.New("a mapping is not accepted here")
	}
	return assign(c, d, s)
}

// scalarText renders a YAML scalar as the text the environment would hold,
// so that one strict parser serves every layer: 10 and "10" are the same,
// 10.5 is not an integer, and true is a boolean but not a number.
func scalarText(x any) (string, bool) {
	switch x := x.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case int:
		return strconv.Itoa(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case uint64:
		return strconv.FormatUint(x, 10), true
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), true
	}
	return "", false
}

func quoteRaw(raw any) string {
	if s, ok := scalarText(raw); ok {
		return strconv.Quote(s)
	}
	return strconv.Quote(fmt.Sprint(raw))
}

// envLookup returns a lookup over environ. Like os.Getenv, it takes the first
// of duplicate entries.
func envLookup(environ []string) func(string) (string, bool) {
	env := make(map[string]string, len(environ))
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			continue
		}
		if _, dup := env[k]; !dup {
			env[k] = v
		}
	}
	return func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}
}

// flagValues holds the flags that are not variables.
type flagValues struct {
	config        string
	help, version bool
}

// newFlagSet defines a flag for every variable, plus --config, --help and
// --version. The variables' flags hold the text they were given, unparsed:
// Load parses every layer with the same strict parsers.
func newFlagSet(vars []Var) (*pflag.FlagSet, *flagValues) {
	fs := pflag.NewFlagSet(programName, pflag.ContinueOnError)
	fs.SortFlags = false
	fs.SetOutput(io.Discard) // Load returns errors; the caller prints
	fs.Usage = func() {}
	fv := new(flagValues)
	fs.StringVar(&fv.config, "config", "", "YAML `file` of settings, keyed by lower-case variable name")
	fs.BoolVar(&fv.version, "version", false, "print the version and exit")
	fs.BoolVarP(&fv.help, "help", "h", false, "print this help and exit")
	for _, d := range vars {
		usage := fmt.Sprintf("%s; $%s; %s", d.Meaning, d.Name, d.Range)
		if d.multi {
			usage += "; repeatable"
		}
		f := fs.VarPF(&textValue{text: d.Default, typ: d.typ, sep: d.sep, multi: d.multi}, d.Flag(), "", usage)
		if d.typ == "boolean" {
			f.NoOptDefVal = "true" // --health-check-enabled alone means true
		}
	}
	return fs, fv
}

// textValue is a pflag.Value that keeps the text it is given. Its Type must
// not be one that viper converts on its own ("int", "bool", ...): viper would
// turn "10x" into 0 without a word.
type textValue struct {
	text  string
	typ   string
	sep   string
	multi bool
	set   bool
}

func (v *textValue) String() string { return v.text }
func (v *textValue) Type() string   { return v.typ }

func (v *textValue) Set(s string) error {
	if v.multi && v.set {
		v.text += v.sep + s
	} else {
		v.text = s
	}
	v.set = true
	return nil
}

// FlagUsage returns the --help text: every flag with its variable, meaning,
// accepted values and default.
func FlagUsage() string {
	fs, _ := newFlagSet(Vars())
	return "Usage: " + programName + " [flags]\n\n" +
		"Every setting is a flag, an environment variable ($NAME) and a key of the\n" +
		"--config YAML file (the variable name in lower case). Precedence, lowest\n" +
		"first: defaults, config file, environment, flags. Durations are whole\n" +
		"milliseconds; booleans are true, false, 1 or 0.\n\n" +
		fs.FlagUsages()
}
