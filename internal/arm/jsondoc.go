package arm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/mimic-emu/mimic/internal/armerr"
)

// Doc is a resource document: decoded JSON with numbers kept as json.Number.
type Doc map[string]any

// maxBody bounds a request body.
const maxBody = 4 << 20

// DecodeDoc decodes a JSON object, keeping numbers exact.
func DecodeDoc(b []byte) (Doc, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var d Doc
	if err := dec.Decode(&d); err != nil {
		return nil, err
	}
	if dec.Decode(new(any)) != io.EOF {
		return nil, fmt.Errorf("unexpected data after the JSON object")
	}
	if d == nil {
		return nil, fmt.Errorf("the body must be a JSON object")
	}
	return d, nil
}

// decodeBody decodes a request body as ARM does: an empty body is an
// empty object; anything else must be one JSON object.
func decodeBody(b []byte) (Doc, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return Doc{}, nil
	}
	d, err := DecodeDoc(b)
	if err != nil {
		return nil, armerr.InvalidRequestContent(err.Error())
	}
	return d, nil
}

// Obj returns the object under key, or nil.
func (d Doc) Obj(key string) Doc {
	switch v := d[key].(type) {
	case Doc:
		return v
	case map[string]any:
		return Doc(v)
	}
	return nil
}

// Props returns d["properties"], creating it if absent.
func (d Doc) Props() Doc {
	if p := d.Obj("properties"); p != nil {
		d["properties"] = p
		return p
	}
	p := Doc{}
	d["properties"] = p
	return p
}

// Str returns the string under a path of keys, or "".
func (d Doc) Str(path ...string) string {
	cur := d
	for i, k := range path {
		if i == len(path)-1 {
			s, _ := cur[k].(string)
			return s
		}
		cur = cur.Obj(k)
		if cur == nil {
			return ""
		}
	}
	return ""
}

// Bool returns the bool under a path of keys and whether it was set.
func (d Doc) Bool(path ...string) (bool, bool) {
	cur := d
	for i, k := range path {
		if i == len(path)-1 {
			b, ok := cur[k].(bool)
			return b, ok
		}
		cur = cur.Obj(k)
		if cur == nil {
			return false, false
		}
	}
	return false, false
}

// Set stores v under a path of keys, creating objects on the way.
func (d Doc) Set(v any, path ...string) {
	cur := d
	for _, k := range path[:len(path)-1] {
		next := cur.Obj(k)
		if next == nil {
			next = Doc{}
		}
		cur[k] = next
		cur = next
	}
	cur[path[len(path)-1]] = v
}

// SetDefault stores v under path unless a value is already there.
func (d Doc) SetDefault(v any, path ...string) {
	cur := d
	for _, k := range path[:len(path)-1] {
		next := cur.Obj(k)
		if next == nil {
			next = Doc{}
		}
		cur[k] = next
		cur = next
	}
	if _, ok := cur[path[len(path)-1]]; !ok {
		cur[path[len(path)-1]] = v
	}
}

// Clone deep-copies d through JSON.
func (d Doc) Clone() Doc {
	b, err := json.Marshal(d)
	if err != nil {
		panic(err)
	}
	out, err := DecodeDoc(b)
	if err != nil {
		panic(err)
	}
	return out
}

// Merge applies an ARM PATCH body to d: objects merge recursively, other
// values replace, and null deletes a key. Tags replace as a whole, as ARM
// does.
func Merge(d, patch Doc) {
	for k, v := range patch {
		if v == nil {
			delete(d, k)
			continue
		}
		pv, isObj := asDoc(v)
		dv, hasObj := asDoc(d[k])
		if isObj && hasObj && k != "tags" {
			Merge(dv, pv)
			d[k] = dv
			continue
		}
		d[k] = v
	}
}

func asDoc(v any) (Doc, bool) {
	switch m := v.(type) {
	case Doc:
		return m, true
	case map[string]any:
		return Doc(m), true
	}
	return nil, false
}

// Keys returns the keys of an object value, or nil.
func (d Doc) Keys(key string) []string {
	m := d.Obj(key)
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// StrSlice returns a []string under key, or nil if the value is not an
// array of strings.
func (d Doc) StrSlice(key string) ([]string, bool) {
	if ss, ok := d[key].([]string); ok {
		return ss, true
	}
	arr, ok := d[key].([]any)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(arr))
	for _, v := range arr {
		s, ok := v.(string)
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

// lookupFold finds a key case-insensitively.
func lookupFold(m Doc, key string) (string, any, bool) {
	if v, ok := m[key]; ok {
		return key, v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return k, v, true
		}
	}
	return "", nil, false
}
