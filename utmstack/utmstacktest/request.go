package utmstacktest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// Request bodies are read the way Spring MVC and Jackson read them: JSON
// only, unknown properties ignored, scalars coerced (a number where a string
// is expected, "5" where an integer is expected). Anything Jackson refuses
// becomes an mvcFailure, which the editions answer differently.

const maxBody = 16 << 20

// mvcFailure is an exception raised before the controller method runs.
type mvcFailure struct {
	status int
	msg    string
}

func (e *mvcFailure) Error() string { return e.msg }

func parseFailure(format string, args ...any) *mvcFailure {
	return &mvcFailure{status: http.StatusBadRequest, msg: "JSON parse error: " + fmt.Sprintf(format, args...)}
}

// readJSON reads a JSON request body. present is false for an empty body,
// which is an error unless optional is set.
func readJSON(r *http.Request, optional bool) (v any, present bool, fail *mvcFailure) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return nil, false, &mvcFailure{status: http.StatusBadRequest, msg: "I/O error while reading input message: " + err.Error()}
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		if optional {
			return nil, false, nil
		}
		return nil, false, &mvcFailure{status: http.StatusBadRequest, msg: "Required request body is missing"}
	}
	// Spring treats a missing Content-Type as application/octet-stream,
	// which no JSON converter reads.
	ct := r.Header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	if mt != "application/json" && (!strings.HasPrefix(mt, "application/") || !strings.HasSuffix(mt, "+json")) {
		if ct == "" {
			ct = "application/octet-stream"
		}
		return nil, false, &mvcFailure{status: http.StatusUnsupportedMediaType, msg: "Content type '" + ct + "' not supported"}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, false, parseFailure("%v", err)
	}
	return v, true, nil
}

// jsonObject asserts the body is an object, as a Java bean demands.
func jsonObject(v any, javaType string) (map[string]any, *mvcFailure) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, parseFailure("Cannot deserialize value of type `%s` from %s", javaType, jsonKind(v))
	}
	return m, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case []any:
		return "Array value"
	case string:
		return "String value"
	case json.Number:
		return "Number value"
	case bool:
		return "Boolean value"
	case nil:
		return "null value"
	}
	return "Object value"
}

// jString is Jackson's String deserializer: scalars become their text.
func jString(v any, name string) (s string, null bool, fail *mvcFailure) {
	switch x := v.(type) {
	case nil:
		return "", true, nil
	case string:
		return x, false, nil
	case json.Number:
		return x.String(), false, nil
	case bool:
		return strconv.FormatBool(x), false, nil
	}
	return "", false, parseFailure("Cannot deserialize value of type `java.lang.String` from %s (property %q)", jsonKind(v), name)
}

// jBool is Jackson's boolean deserializer with its default coercions.
func jBool(v any, name string) (b bool, null bool, fail *mvcFailure) {
	switch x := v.(type) {
	case nil:
		return false, true, nil
	case bool:
		return x, false, nil
	case string:
		switch strings.TrimSpace(x) {
		case "true", "True", "TRUE":
			return true, false, nil
		case "false", "False", "FALSE", "":
			return false, false, nil
		}
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i != 0, false, nil
		}
	}
	return false, false, parseFailure("Cannot deserialize value of type `boolean` from %s (property %q)", jsonKind(v), name)
}

// jInteger is Jackson's java.lang.Integer deserializer.
func jInteger(v any, name string) (n int64, null bool, fail *mvcFailure) {
	var f float64
	switch x := v.(type) {
	case nil:
		return 0, true, nil
	case json.Number:
		if i, err := x.Int64(); err == nil {
			f = float64(i)
			n = i
			break
		}
		g, err := x.Float64()
		if err != nil {
			return 0, false, parseFailure("Numeric value (%s) out of range of int (property %q)", x, name)
		}
		f, n = g, int64(g) // ACCEPT_FLOAT_AS_INT truncates
	case string:
		t := strings.TrimSpace(x)
		if t == "" {
			return 0, true, nil
		}
		i, err := strconv.ParseInt(t, 10, 64)
		if err != nil {
			return 0, false, parseFailure("Cannot deserialize value of type `java.lang.Integer` from String %q: not a valid `java.lang.Integer` value (property %q)", x, name)
		}
		f, n = float64(i), i
	default:
		return 0, false, parseFailure("Cannot deserialize value of type `java.lang.Integer` from %s (property %q)", jsonKind(v), name)
	}
	if f > math.MaxInt32 || f < math.MinInt32 {
		return 0, false, parseFailure("Numeric value (%v) out of range of int (%d - %d) (property %q)", v, math.MinInt32, math.MaxInt32, name)
	}
	return n, false, nil
}
