package utmstacktest

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/utmstack/utmstack_exporter/utmstack"
)

// filter is one FilterType as Jackson built it.
type filter struct {
	op    string // "" when the operator was null or absent
	field string
	value any // nil, string, json.Number, bool, []any or map[string]any
}

// operatorNames is the OperatorType enum of the edition, in declaration
// order (Jackson also accepts an ordinal). IS_ONE_OF_TERMS_OR appeared with
// v11.0.x.
func (s *Server) operatorNames() []string {
	if s.opts.Edition == EditionCurrent {
		return utmstack.OperatorNames
	}
	var out []string
	for _, n := range utmstack.OperatorNames {
		if n != "IS_ONE_OF_TERMS_OR" {
			out = append(out, n)
		}
	}
	return out
}

// decodeFilters turns a JSON value into List<FilterType>; failures are
// Jackson's and so happen before the controller.
func (s *Server) decodeFilters(v any) ([]*filter, *mvcFailure) {
	if v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, parseFailure("Cannot deserialize value of type `java.util.ArrayList<com.park.utmstack.domain.chart_builder.types.query.FilterType>` from %s", jsonKind(v))
	}
	names := s.operatorNames()
	out := make([]*filter, len(list))
	for i, item := range list {
		if item == nil {
			continue // a null element; SearchUtil trips over it later
		}
		m, fail := jsonObject(item, "com.park.utmstack.domain.chart_builder.types.query.FilterType")
		if fail != nil {
			return nil, fail
		}
		f := &filter{value: m["value"]}
		if f.field, _, fail = jString(m["field"], "field"); fail != nil {
			return nil, fail
		}
		switch op := m["operator"].(type) {
		case nil:
		case string:
			if !slices.Contains(names, op) {
				return nil, parseFailure("Cannot deserialize value of type `com.park.utmstack.domain.chart_builder.types.query.OperatorType` from String %q: not one of the values accepted for Enum class: [%s]", op, strings.Join(names, ", "))
			}
			f.op = op
		case json.Number:
			n, err := op.Int64()
			if err != nil || n < 0 || n >= int64(len(names)) {
				return nil, parseFailure("Cannot deserialize value of type `com.park.utmstack.domain.chart_builder.types.query.OperatorType` from number %s: index value outside legal index range [0..%d]", op, len(names)-1)
			}
			f.op = names[n]
		default:
			return nil, parseFailure("Cannot deserialize value of type `com.park.utmstack.domain.chart_builder.types.query.OperatorType` from %s", jsonKind(op))
		}
		out[i] = f
	}
	return out, nil
}

// builderNames are SearchUtil's per-operator methods, which prefix its errors.
var builderNames = map[string]string{
	"IS": "buildIsOperator", "IS_NOT": "buildIsNotOperator",
	"CONTAIN": "buildContainOperator", "DOES_NOT_CONTAIN": "buildDoesNotContainOperator",
	"CONTAIN_ONE_OF": "buildContainOneOfOperator", "DOES_NOT_CONTAIN_ONE_OF": "buildDoesNotContainOneOfOperator",
	"IS_ONE_OF": "buildIsOneOfOperator", "IS_NOT_ONE_OF": "buildIsNotOneOfOperator",
	"IS_ONE_OF_TERMS": "buildIsOneOfTermsOperator", "IS_ONE_OF_TERMS_OR": "buildIsOneOfTermsOrOperator",
	"EXIST": "buildExistOperator", "DOES_NOT_EXIST": "buildDoesNotExistOperator",
	"IS_BETWEEN": "buildIsBetweenOperator", "IS_NOT_BETWEEN": "buildIsNotBetweenOperator",
	"IS_IN_FIELDS": "buildIsInFields", "IS_NOT_IN_FIELDS": "buildIsNotInFields",
	"ENDS_WITH": "buildEndsWith", "NOT_ENDS_WITH": "buildNotEndsWith",
	"START_WITH": "buildStartWith", "NOT_START_WITH": "buildNotStartWith",
	"IS_GREATER_THAN": "buildIsGreaterThan", "IS_LESS_THAN_OR_EQUALS": "buildIsLessThanOrEquals",
}

// validateFilters is SearchUtil.toQuery's side of the work: FilterType
// validate() and the casts each builder makes. Its errors reach the client
// as a controller error (500 with X-UtmStack-error) on both editions.
func validateFilters(fs []*filter) error {
	for _, f := range fs {
		if f == nil || f.op == "" {
			return fmt.Errorf("SearchUtil.toQuery: Cannot invoke \"OperatorType.ordinal()\" because the filter operator is null")
		}
		if err := validateFilter(f); err != nil {
			return fmt.Errorf("SearchUtil.toQuery: SearchUtil.%s: %w", builderNames[f.op], err)
		}
	}
	return nil
}

func validateFilter(f *filter) error {
	shape := utmstack.Operators[f.op]
	if strings.TrimSpace(f.field) == "" && f.op != "IS_IN_FIELDS" && f.op != "IS_NOT_IN_FIELDS" {
		return errors.New("Filter field is missing") //nolint:staticcheck // ST1005: UTMStack's own message, which the fake copies
	}
	switch shape {
	case utmstack.ShapeNone:
		return nil // EXIST and DOES_NOT_EXIST never look at the value
	case utmstack.ShapeScalar:
		if f.value == nil {
			if f.op == "IS_GREATER_THAN" || f.op == "IS_LESS_THAN_OR_EQUALS" {
				return nil // no validate(); a null bound is an open range
			}
			return errors.New("Filter value is missing") //nolint:staticcheck // ST1005: UTMStack's own message, which the fake copies
		}
		if !isJSONScalar(f.value) {
			return fmt.Errorf("Filter value must be a single value, got %s", jsonKind(f.value)) //nolint:staticcheck // ST1005: UTMStack's own message, which the fake copies
		}
		return nil
	}
	if f.value == nil {
		return errors.New("Filter value is missing") //nolint:staticcheck // ST1005: UTMStack's own message, which the fake copies
	}
	list, ok := f.value.([]any)
	if !ok {
		return fmt.Errorf("class %s cannot be cast to class java.util.List", javaClass(f.value))
	}
	if len(list) == 0 {
		return errors.New("Filter value is missing") //nolint:staticcheck // ST1005: UTMStack's own message, which the fake copies
	}
	if shape == utmstack.ShapeRange && len(list) != 2 {
		return fmt.Errorf("Filter value must be a list of two values [from, to], got %d", len(list)) //nolint:staticcheck // ST1005: UTMStack's own message, which the fake copies
	}
	for _, item := range list {
		switch {
		case item == nil && shape == utmstack.ShapeRange:
		case shape == utmstack.ShapeStringList:
			if _, ok := item.(string); !ok {
				return fmt.Errorf("class %s cannot be cast to class java.lang.String", javaClass(item))
			}
		case !isJSONScalar(item):
			return fmt.Errorf("Filter value items must be single values, got %s", jsonKind(item)) //nolint:staticcheck // ST1005: UTMStack's own message, which the fake copies
		}
	}
	return nil
}

func isJSONScalar(v any) bool {
	switch v.(type) {
	case string, json.Number, bool:
		return true
	}
	return false
}

func javaClass(v any) string {
	switch x := v.(type) {
	case string:
		return "java.lang.String"
	case bool:
		return "java.lang.Boolean"
	case json.Number:
		if _, err := x.Int64(); err == nil {
			return "java.lang.Integer"
		}
		return "java.lang.Double"
	case []any:
		return "java.util.ArrayList"
	case map[string]any:
		return "java.util.LinkedHashMap"
	}
	return "java.lang.Object"
}
