package utmstack

import (
	"fmt"
	"strings"
)

// Filter is UTMStack's FilterType: one condition of a search or aggregation
// request body. It is passed to UTMStack as written.
type Filter struct {
	Field    string `json:"field" yaml:"field"`
	Operator string `json:"operator" yaml:"operator"`
	Value    any    `json:"value,omitempty" yaml:"value,omitempty"`
}

// ValueShape is what an operator expects in Filter.Value.
type ValueShape int

const (
	// ShapeNone: no value (EXIST, DOES_NOT_EXIST).
	ShapeNone ValueShape = iota
	// ShapeScalar: one string, number or boolean.
	ShapeScalar
	// ShapeList: a non-empty list of scalars.
	ShapeList
	// ShapeStringList: a non-empty list of strings (UTMStack casts each to String).
	ShapeStringList
	// ShapeRange: a list of exactly two scalars, [from, to].
	ShapeRange
)

func (s ValueShape) String() string {
	switch s {
	case ShapeNone:
		return "no value"
	case ShapeScalar:
		return "a single value (string, number or boolean)"
	case ShapeList:
		return "a non-empty list of values"
	case ShapeStringList:
		return "a non-empty list of strings"
	case ShapeRange:
		return "a list of exactly two values [from, to]"
	}
	return "unknown"
}

// Operators maps each of UTMStack's OperatorType values (v11.0.x, 22 in all)
// to the value shape SearchUtil expects. The order follows the Java enum.
var Operators = map[string]ValueShape{
	"IS":                      ShapeScalar,
	"IS_NOT":                  ShapeScalar,
	"CONTAIN":                 ShapeScalar,
	"CONTAIN_ONE_OF":          ShapeList,
	"DOES_NOT_CONTAIN_ONE_OF": ShapeList,
	"DOES_NOT_CONTAIN":        ShapeScalar,
	"IS_ONE_OF":               ShapeList,
	"IS_NOT_ONE_OF":           ShapeList,
	"IS_ONE_OF_TERMS":         ShapeStringList,
	"IS_ONE_OF_TERMS_OR":      ShapeStringList,
	"EXIST":                   ShapeNone,
	"DOES_NOT_EXIST":          ShapeNone,
	"IS_BETWEEN":              ShapeRange,
	"IS_NOT_BETWEEN":          ShapeRange,
	"IS_IN_FIELDS":            ShapeScalar,
	"IS_NOT_IN_FIELDS":        ShapeScalar,
	"ENDS_WITH":               ShapeScalar,
	"NOT_ENDS_WITH":           ShapeScalar,
	"START_WITH":              ShapeScalar,
	"NOT_START_WITH":          ShapeScalar,
	"IS_GREATER_THAN":         ShapeScalar,
	"IS_LESS_THAN_OR_EQUALS":  ShapeScalar,
}

// OperatorNames lists the operators in UTMStack's enum order, for messages.
var OperatorNames = []string{
	"IS", "IS_NOT", "CONTAIN", "CONTAIN_ONE_OF", "DOES_NOT_CONTAIN_ONE_OF", "DOES_NOT_CONTAIN",
	"IS_ONE_OF", "IS_NOT_ONE_OF", "IS_ONE_OF_TERMS", "IS_ONE_OF_TERMS_OR", "EXIST", "DOES_NOT_EXIST",
	"IS_BETWEEN", "IS_NOT_BETWEEN", "IS_IN_FIELDS", "IS_NOT_IN_FIELDS", "ENDS_WITH", "NOT_ENDS_WITH",
	"START_WITH", "NOT_START_WITH", "IS_GREATER_THAN", "IS_LESS_THAN_OR_EQUALS",
}

// FilterError says which key of a filter is wrong ("field", "operator" or
// "value") so that callers can prefix their own key path.
type FilterError struct {
	Key string
	Msg string
}

func (e *FilterError) Error() string { return e.Key + ": " + e.Msg }

// Validate checks a filter the way UTMStack's FilterType.validate() and
// SearchUtil would, before it is ever sent.
func (f Filter) Validate() error {
	shape, ok := Operators[f.Operator]
	if !ok {
		return &FilterError{Key: "operator", Msg: fmt.Sprintf("unknown operator %q; accepted: %s", f.Operator, strings.Join(OperatorNames, ", "))}
	}
	if strings.TrimSpace(f.Field) == "" && f.Operator != "IS_IN_FIELDS" && f.Operator != "IS_NOT_IN_FIELDS" {
		return &FilterError{Key: "field", Msg: fmt.Sprintf("required for operator %s", f.Operator)}
	}
	if err := checkShape(f.Value, shape); err != nil {
		return &FilterError{Key: "value", Msg: fmt.Sprintf("operator %s takes %s; %s", f.Operator, shape, err)}
	}
	return nil
}

func checkShape(v any, shape ValueShape) error {
	switch shape {
	case ShapeNone:
		if v != nil {
			return fmt.Errorf("got %s", describe(v))
		}
	case ShapeScalar:
		if !isScalar(v) {
			return fmt.Errorf("got %s", describe(v))
		}
	case ShapeList, ShapeStringList, ShapeRange:
		list, ok := v.([]any)
		if !ok || len(list) == 0 {
			return fmt.Errorf("got %s", describe(v))
		}
		if shape == ShapeRange && len(list) != 2 {
			return fmt.Errorf("got a list of %d", len(list))
		}
		for i, item := range list {
			if !isScalar(item) {
				return fmt.Errorf("item %d is %s", i, describe(item))
			}
			if _, isString := item.(string); shape == ShapeStringList && !isString {
				return fmt.Errorf("item %d is %s", i, describe(item))
			}
		}
	}
	return nil
}

func isScalar(v any) bool {
	switch v.(type) {
	case string, bool, int, int64, uint64, float64:
		return true
	}
	return false
}

func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "nothing"
	case string:
		return fmt.Sprintf("the string %q", x)
	case []any:
		return fmt.Sprintf("a list of %d", len(x))
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprintf("%v", v)
}
