package kvplane

import (
	"strconv"
	"sync"
	"unicode/utf8"
)

// jbuf builds a JSON response by appending, which keeps the hot path of a
// GET down to one pooled buffer.
type jbuf struct{ b []byte }

var bufPool = sync.Pool{New: func() any { return &jbuf{b: make([]byte, 0, 1024)} }}

func getBuf() *jbuf { j := bufPool.Get().(*jbuf); j.b = j.b[:0]; return j }

func putBuf(j *jbuf) {
	if cap(j.b) <= 64<<10 {
		bufPool.Put(j)
	}
}

func (j *jbuf) raw(s string) { j.b = append(j.b, s...) }

func (j *jbuf) byte(c byte) { j.b = append(j.b, c) }

func (j *jbuf) int(n int64) { j.b = strconv.AppendInt(j.b, n, 10) }

// key appends `"k":` after a comma unless first.
func (j *jbuf) key(k string, first bool) {
	if !first {
		j.b = append(j.b, ',')
	}
	j.str(k)
	j.b = append(j.b, ':')
}

const hexDigits = "0123456789abcdef"

// str appends s as a JSON string. Invalid UTF-8 becomes U+FFFD, as with
// encoding/json; U+2028 and U+2029 are escaped for JavaScript's sake.
func (j *jbuf) str(s string) {
	b := append(j.b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	j.b = append(b, '"')
}
