package blobplane

import (
	"strconv"
	"strings"
)

// byteRange is a requested range: first to last inclusive, or the last
// suffix bytes.
type byteRange struct {
	first, last int64 // last -1: to the end
	suffix      int64 // > 0: the last suffix bytes
}

// parseRange parses a single "bytes=first-[last]" or "bytes=-suffix".
func parseRange(v string) (byteRange, bool) {
	spec, ok := strings.CutPrefix(strings.TrimSpace(v), "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return byteRange{}, false
	}
	a, b, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return byteRange{}, false
	}
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	if a == "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n <= 0 {
			return byteRange{}, false
		}
		return byteRange{suffix: n}, true
	}
	first, err := strconv.ParseInt(a, 10, 64)
	if err != nil || first < 0 {
		return byteRange{}, false
	}
	r := byteRange{first: first, last: -1}
	if b != "" {
		last, err := strconv.ParseInt(b, 10, 64)
		if err != nil || last < 0 {
			return byteRange{}, false
		}
		r.last = last
	}
	return r, true
}

// resolve returns the offset and length of the range in a blob of size
// bytes, or false if the range is not satisfiable (416 InvalidRange).
func (r byteRange) resolve(size int64) (off, n int64, ok bool) {
	if r.suffix > 0 {
		if size == 0 {
			return 0, 0, false
		}
		n = min(r.suffix, size)
		return size - n, n, true
	}
	if r.first >= size || r.last >= 0 && r.last < r.first {
		return 0, 0, false
	}
	last := size - 1
	if r.last >= 0 && r.last < last {
		last = r.last
	}
	return r.first, last - r.first + 1, true
}

// requestRange returns the request's range: x-ms-range wins over Range.
// A malformed x-ms-range is an error; a malformed Range is ignored, as
// HTTP allows.
func (rq *request) requestRange() (byteRange, bool, error) {
	h := rq.r.Header
	if v := h.Get("x-ms-range"); v != "" {
		r, ok := parseRange(v)
		if !ok {
			return byteRange{}, false, errInvalidHeader("x-ms-range", v)
		}
		return r, true, nil
	}
	if v := h.Get("Range"); v != "" {
		if r, ok := parseRange(v); ok {
			return r, true, nil
		}
	}
	return byteRange{}, false, nil
}
