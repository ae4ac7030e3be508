package metadata

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// The years a publication date may have. The web's pages start in the
// 1990s; the upper bound is fixed, not today's date, so that the module
// answers the same for the same page whenever it runs.
const (
	minYear = 1995
	maxYear = 2099
)

// Date is a calendar date as a page writes it, without a time zone: the
// date the author saw, which converting to UTC could move by a day.
type Date struct{ Year, Month, Day int }

// IsZero reports whether d is unset.
func (d Date) IsZero() bool { return d.Year == 0 }

// String formats d as YYYY-MM-DD.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	b := make([]byte, 0, 10)
	b = strconv.AppendInt(b, int64(d.Year), 10)
	b = append(b, '-', byte('0'+d.Month/10), byte('0'+d.Month%10), '-', byte('0'+d.Day/10), byte('0'+d.Day%10))
	return string(b)
}

func validDate(y, m, d int) bool {
	if y < minYear || y > maxYear || m < 1 || m > 12 || d < 1 {
		return false
	}
	days := [...]int{31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[m-1]
	if m == 2 && !(y%4 == 0 && (y%100 != 0 || y%400 == 0)) {
		days = 28
	}
	return d <= days
}

// months maps a lower-case month name or its usual abbreviation, in the
// languages most common on the web, to its number. Abbreviations are the
// names' first three letters, matched by prefix (see monthOf).
var monthNames = [12][]string{
	{"january", "januar", "jänner", "janvier", "enero", "gennaio", "janeiro", "januari", "stycznia", "styczeń", "leden", "ledna", "ocak", "января", "январь"},
	{"february", "februar", "février", "fevrier", "febrero", "febbraio", "fevereiro", "februari", "lutego", "luty", "únor", "února", "şubat", "февраля", "февраль"},
	{"march", "märz", "maerz", "mars", "marzo", "março", "marco", "maart", "marca", "marzec", "březen", "března", "mart", "марта", "март"},
	{"april", "avril", "abril", "aprile", "kwietnia", "kwiecień", "duben", "dubna", "nisan", "апреля", "апрель"},
	{"may", "mai", "mayo", "maggio", "maio", "mei", "maja", "maj", "květen", "května", "mayıs", "мая", "май"},
	{"june", "juni", "juin", "junio", "giugno", "junho", "czerwca", "czerwiec", "červen", "června", "haziran", "июня", "июнь"},
	{"july", "juli", "juillet", "julio", "luglio", "julho", "lipca", "lipiec", "červenec", "července", "temmuz", "июля", "июль"},
	{"august", "août", "aout", "agosto", "augustus", "sierpnia", "sierpień", "srpen", "srpna", "ağustos", "августа", "август"},
	{"september", "septembre", "septiembre", "settembre", "setembro", "września", "wrzesień", "září", "eylül", "сентября", "сентябрь"},
	{"october", "oktober", "octobre", "octubre", "ottobre", "outubro", "października", "październik", "říjen", "října", "ekim", "октября", "октябрь"},
	{"november", "novembre", "noviembre", "novembro", "listopada", "listopad", "kasım", "ноября", "ноябрь"},
	{"december", "dezember", "décembre", "decembre", "diciembre", "dicembre", "dezembro", "grudnia", "grudzień", "prosinec", "prosince", "aralık", "декабря", "декабрь"},
}

// monthOf returns the month a word names, or 0: the whole name, or an
// abbreviation of at least three letters of a name (with or without a
// final dot, stripped by the caller).
func monthOf(word string) int {
	word = strings.ToLower(word)
	if len(word) < 3 {
		return 0
	}
	for i, names := range monthNames {
		for _, n := range names {
			if word == n {
				return i + 1
			}
		}
	}
	// Abbreviations: "Aug", "Sept", "févr", "dic". Four letters or fewer,
	// so that an ordinary word is not taken for a month ("marathon").
	if n := len([]rune(word)); n > 4 {
		return 0
	}
	for i, names := range monthNames {
		for _, n := range names {
			if strings.HasPrefix(n, word) {
				return i + 1
			}
		}
	}
	return 0
}

// The date patterns of running text. Each is tried on its own; the
// earliest match in the text wins.
var (
	// 2009-08-06, 2009/08/06, 2009.08.06, and the date of an ISO timestamp.
	reISO = regexp.MustCompile(`\b((?:19|20)\d\d)([-/.])(\d{1,2})([-/.])(\d{1,2})\b`)
	// 06.08.2009, 6.8.09, 06/08/2009, 08/06/2009, 06-08-2009.
	reNumeric = regexp.MustCompile(`\b(\d{1,2})([./-])\s?(\d{1,2})([./-])\s?((?:19|20)?\d\d)\b`)
	// 6. August 2009, 6 Aug. 2009, 6th of August, 2009, 6 de agosto de 2009.
	reDayMonth = regexp.MustCompile(`(?i)\b(\d{1,2})(?:st|nd|rd|th|er|º|\.)?\s*(?:of\s+|de\s+)?(\pL{3,12})\.?,?\s*(?:de\s+|del\s+)?((?:19|20)\d\d)\b`)
	// August 6, 2009, Aug. 6th 2009.
	reMonthDay = regexp.MustCompile(`(?i)\b(\pL{3,12})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+((?:19|20)\d\d)\b`)
)

// parseDate finds the first date written in s. monthFirst says how to read
// an ambiguous numeric date such as 03/04/2020: month first (as in the
// United States) or day first (almost everywhere else). It returns the
// date and where it starts in s, or -1.
//
// Running the patterns over all of s is what costs; but every date has a
// year, so the patterns with a four-digit year run only on a window around
// each one, and the text between years is skipped.
func parseDate(s string, monthFirst bool) (Date, int) {
	best, at := Date{}, -1
	try := func(d Date, pos int) {
		if !d.IsZero() && (at < 0 || pos < at) {
			best, at = d, pos
		}
	}
	// Numeric dates may have a two-digit year: they are scanned whole.
	for _, m := range reNumeric.FindAllStringSubmatchIndex(s, 4) {
		if s[m[4]:m[5]] != s[m[8]:m[9]] {
			continue
		}
		a, b, y := atoi(s[m[2]:m[3]]), atoi(s[m[6]:m[7]]), atoi(s[m[10]:m[11]])
		if m[11]-m[10] == 2 {
			y += 2000
		}
		day, month := a, b
		if s[m[4]:m[5]] == "/" && (monthFirst && b <= 31 && a <= 12 || b > 12) {
			day, month = b, a
		}
		if validDate(y, month, day) {
			try(Date{y, month, day}, m[0])
			break
		}
	}
	for p := nextYear(s, 0); p >= 0 && (at < 0 || p < at); p = nextYear(s, p+4) {
		// The year starts an ISO date, or ends a written one.
		if d, ok := isoAt(s, p); ok {
			try(d, p)
			break
		}
		lo := max(0, p-40)
		if lo > 0 {
			// Start the window at a word, where \b means what it says.
			if sp := strings.IndexAny(s[lo:p], " \t\n"); sp >= 0 {
				lo += sp + 1
			} else {
				lo = p
			}
		}
		win := s[lo : p+4]
		if m := reDayMonth.FindStringSubmatchIndex(win); m != nil {
			if mo := monthOf(win[m[4]:m[5]]); mo > 0 {
				if y, d := atoi(win[m[6]:m[7]]), atoi(win[m[2]:m[3]]); validDate(y, mo, d) {
					try(Date{y, mo, d}, lo+m[0])
				}
			}
		}
		if m := reMonthDay.FindStringSubmatchIndex(win); m != nil {
			if mo := monthOf(win[m[2]:m[3]]); mo > 0 {
				if y, d := atoi(win[m[6]:m[7]]), atoi(win[m[4]:m[5]]); validDate(y, mo, d) {
					try(Date{y, mo, d}, lo+m[0])
				}
			}
		}
		if at >= 0 && at >= lo {
			break
		}
	}
	return best, at
}

// nextYear returns the index of the first four-digit year (19xx or 20xx,
// not part of a longer number) in s at or after from, or -1.
func nextYear(s string, from int) int {
	for i := from; i+4 <= len(s); i++ {
		if !(s[i] == '1' && s[i+1] == '9' || s[i] == '2' && s[i+1] == '0') {
			continue
		}
		if isDigit(s[i+2]) && isDigit(s[i+3]) && (i == 0 || !isDigit(s[i-1])) && (i+4 == len(s) || !isDigit(s[i+4])) {
			return i
		}
	}
	return -1
}

// isoAt reads an ISO date (2009-08-06, 2009/08/06, 2009.08.06) at s[p:].
func isoAt(s string, p int) (Date, bool) {
	m := reISO.FindStringSubmatchIndex(s[p:min(len(s), p+11)])
	if m == nil || m[0] != 0 {
		return Date{}, false
	}
	t := s[p:]
	if t[m[4]:m[5]] != t[m[8]:m[9]] { // the same separator twice
		return Date{}, false
	}
	y, mo, d := atoi(t[m[2]:m[3]]), atoi(t[m[6]:m[7]]), atoi(t[m[10]:m[11]])
	if !validDate(y, mo, d) {
		return Date{}, false
	}
	return Date{y, mo, d}, true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// parseMachineDate reads a date written for machines (a meta tag's
// content, a datetime attribute, JSON-LD): an ISO 8601 date or timestamp,
// else whatever parseDate finds, read day first.
func parseMachineDate(s string) Date {
	s = strings.TrimSpace(s)
	if len(s) >= 10 && s[4] == '-' && s[7] == '-' {
		y, m, d := atoi(s[:4]), atoi(s[5:7]), atoi(s[8:10])
		if validDate(y, m, d) && (len(s) == 10 || !unicode.IsDigit(rune(s[10]))) {
			return Date{y, m, d}
		}
	}
	if len(s) == 8 && allDigits(s) { // 20090806
		y, m, d := atoi(s[:4]), atoi(s[4:6]), atoi(s[6:])
		if validDate(y, m, d) {
			return Date{y, m, d}
		}
	}
	if len(s) > 200 {
		return Date{} // a machine date is short; this is a paragraph
	}
	d, _ := parseDate(s, false)
	return d
}

// reURLDate finds a date in a URL's path: /2009/08/06/, /2009-08-06-,
// /20090806/, and /2009/08/ for the month alone (not used: a day is needed).
var reURLDate = regexp.MustCompile(`(?:^|[/_-])((?:19|20)\d\d)[/_-]?(0[1-9]|1[0-2])[/_-]?(0[1-9]|[12]\d|3[01])(?:$|[/_.-])`)

// urlDate returns the date in a page URL's path, if it has one.
func urlDate(path string) Date {
	m := reURLDate.FindStringSubmatch(path)
	if m == nil {
		return Date{}
	}
	y, mo, d := atoi(m[1]), atoi(m[2]), atoi(m[3])
	if !validDate(y, mo, d) {
		return Date{}
	}
	return Date{y, mo, d}
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
