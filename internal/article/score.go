package article

import (
	"math"
	"unicode"
	"unicode/utf8"
)

// wordsPerMinute is an adult's average silent reading rate for
// non-fiction (Brysbaert, 2019).
const wordsPerMinute = 238

// CountWords counts the words in text: runs of letters, digits and the
// punctuation inside them ("don't", "e-mail" and "3.5" are one word each),
// and each Han, Hiragana or Katakana character, as these scripts do not
// separate words with spaces.
func CountWords(text string) int {
	n := 0
	inWord := false
	for i := 0; i < len(text); {
		r, size := rune(text[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(text[i:])
		}
		i += size
		switch {
		case r < utf8.RuneSelf && (r == ' ' || r == '\n' || r == '\t' || r == '\r' || r == '\f' || r == '\v'):
			inWord = false
		case r < utf8.RuneSelf && ('a' <= r|0x20 && r|0x20 <= 'z' || '0' <= r && r <= '9'):
			if !inWord {
				n++
				inWord = true
			}
		case r < utf8.RuneSelf:
			// Punctuation neither starts nor ends a word.
		case unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana):
			n++
			inWord = false
		case unicode.IsSpace(r):
			inWord = false
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r):
			if !inWord {
				n++
				inWord = true
			}
		}
	}
	return n
}

// ReadingTime is the time to read words at 238 words a minute, in minutes
// rounded to one decimal, and at least 0.1 for any text at all.
func ReadingTime(words int) float64 {
	if words <= 0 {
		return 0
	}
	return math.Max(0.1, math.Round(float64(words)*10/wordsPerMinute)/10)
}

// Signals are the facts about the content that QualityScore reads besides
// the result's fields.
type Signals struct {
	Chars      int // letters and digits in the content
	LinkChars  int // of which inside links
	Paragraphs int // <p> elements holding at least 80 letters and digits
}

// QualityScore rates, from 0 to 100, how likely res is a complete, readable
// article with its metadata. It adds:
//
//   - length, up to 40: 40 × min(WordCount, 300) / 300;
//   - link density, up to 20: 20 × (1 − 2 × LinkChars/Chars), at least 0,
//     and 0 without content (a page of links is navigation, not an article);
//   - structure, up to 10: 10 × min(Paragraphs, 3) / 3;
//   - metadata, up to 30: a title 10, a description 5, a byline 5, a
//     publication time 5, a language 3, a site name 2.
//
// The sum is rounded to the nearest integer.
func QualityScore(res *Result, s Signals) int {
	var score float64
	score += 40 * float64(min(res.WordCount, 300)) / 300
	if s.Chars > 0 {
		score += 20 * math.Max(0, 1-2*float64(s.LinkChars)/float64(s.Chars))
	}
	score += 10 * float64(min(s.Paragraphs, 3)) / 3
	for _, f := range [...]struct {
		value  string
		points float64
	}{
		{res.Title, 10},
		{res.Description, 5},
		{res.Byline, 5},
		{res.PublishedTime, 5},
		{res.Lang, 3},
		{res.SiteName, 2},
	} {
		if f.value != "" {
			score += f.points
		}
	}
	return int(math.Round(math.Min(score, 100)))
}
