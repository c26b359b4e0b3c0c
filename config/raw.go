package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strings"

	commoncfg "github.com/prometheus/common/config"
	"go.yaml.in/yaml/v3"

	"github.com/utmstack/utmstack_exporter/utmstack"
)

// The raw* types mirror the file. Optional settings are pointers so that
// "absent" (take the default) differs from an explicit zero value.

type rawConfig struct {
	UTMStack rawUTMStack `yaml:"utmstack"`
	Defaults rawDefaults `yaml:"defaults"`
	// nil when absent (use the built-in set); non-nil and empty for `queries: []`.
	Queries    *[]rawQuery             `yaml:"queries"`
	Breakdowns map[string]rawBreakdown `yaml:"breakdowns"`
	Incidents  *bool                   `yaml:"incidents"`
	Targets    map[string]rawTarget    `yaml:"targets"`
}

// rawBreakdown is one entry of `breakdowns`.
type rawBreakdown struct {
	Field string  `yaml:"field"`
	Top   *rawInt `yaml:"top"`
}

// rawTarget is one instance served by /probe: a utmstack block with,
// optionally, its own queries.
type rawTarget struct {
	rawUTMStack `yaml:",inline"`
	Queries     *[]rawQuery `yaml:"queries"`
}

type rawUTMStack struct {
	URL            string       `yaml:"url"`
	Timeout        *rawDuration `yaml:"timeout"`
	MaxConcurrency *rawInt      `yaml:"max_concurrency"`
	MinInterval    *rawDuration `yaml:"min_interval"`
	Auth           rawAuth      `yaml:"auth"`
	TLSConfig      plainTLS     `yaml:"tls_config"`
	ProxyURL       string       `yaml:"proxy_url"`
}

// plainTLS has TLSConfig's fields but not its UnmarshalYAML, which calls
// Validate during decoding: that error would abort decoding without a key
// path. We call Validate ourselves. Unknown keys and bad values in it
// (min_version: TLS99) are reported by checkShape, as everywhere else.
type plainTLS commoncfg.TLSConfig

// rawAuth uses plain strings: an empty value counts as unset, as proxy_url
// does, so templated files can leave keys blank. Keys tagged secret:"true"
// never have their value repeated in a message (see checkShape).
type rawAuth struct {
	Username        string `yaml:"username"`
	Password        string `yaml:"password" secret:"true"`
	PasswordFile    string `yaml:"password_file"`
	APIKey          string `yaml:"api_key" secret:"true"`
	APIKeyFile      string `yaml:"api_key_file"`
	InternalKey     string `yaml:"internal_key" secret:"true"`
	InternalKeyFile string `yaml:"internal_key_file"`
}

type rawFields struct {
	Severity *string `yaml:"severity"`
	Status   *string `yaml:"status"`
	Country  *string `yaml:"country"`
}

// rawDefaults is both the `defaults` section and, inlined, a query's
// overrides of it.
type rawDefaults struct {
	IndexPattern          *string      `yaml:"index_pattern"`
	Window                *rawDuration `yaml:"window"`
	WindowRounding        *rawDuration `yaml:"window_rounding"`
	ExcludeFalsePositives *bool        `yaml:"exclude_false_positives"`
	ExcludeEchoes         *bool        `yaml:"exclude_echoes"`
	Fields                rawFields    `yaml:"fields"`
	TopCountries          *rawInt      `yaml:"top_countries"`
}

type rawQuery struct {
	Name        string           `yaml:"name"`
	Help        string           `yaml:"help"`
	rawDefaults `yaml:",inline"` // the query's overrides
	Filters     []rawFilter      `yaml:"filters"`
	By          []string         `yaml:"by"`
	Ages        []string         `yaml:"ages"`
}

// rawFilter is utmstack.Filter with the value kept as a node: yaml.v3
// would turn an unquoted date such as 2024-01-01 into a time.Time, but
// filters go to UTMStack as written.
type rawFilter struct {
	Field    string    `yaml:"field"`
	Operator string    `yaml:"operator"`
	Value    yaml.Node `yaml:"value"`
}

func (f rawFilter) filter() (utmstack.Filter, error) {
	out := utmstack.Filter{Field: f.Field, Operator: f.Operator}
	if f.Value.Kind == 0 { // absent
		return out, nil
	}
	v := f.Value
	timestampsAsStrings(&v)
	// Unknown keys cannot occur below here: the value is free-form.
	err := v.Decode(&out.Value)
	return out, err
}

func timestampsAsStrings(n *yaml.Node) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!timestamp" {
		n.Tag = "!!str"
	}
	for _, c := range n.Content {
		timestampsAsStrings(c)
	}
}

// rawDuration keeps a duration as written, so that validation can report a
// bad or negative value with its key path instead of aborting the decode.
type rawDuration struct {
	text string
}

func (d *rawDuration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		// checkShape reports these first; this only guards a direct decode.
		return &yaml.TypeError{Errors: []string{
			fmt.Sprintf("line %d: cannot unmarshal %s into a duration", n.Line, n.ShortTag()),
		}}
	}
	d.text = n.Value
	return nil
}

// rawInt keeps a whole number as written, as rawDuration does a duration,
// so that validation can report "lots" or a number too large for an int
// with its key path and accepted range.
type rawInt struct {
	text string
	line int
	n    int
	ok   bool // text is a whole number that fits in n
}

func (i *rawInt) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		// checkShape reports these first; this only guards a direct decode.
		return &yaml.TypeError{Errors: []string{
			fmt.Sprintf("line %d: cannot unmarshal %s into a whole number", n.Line, n.ShortTag()),
		}}
	}
	i.text, i.line = n.Value, n.Line
	// yaml would truncate 2.5 to 2; only an !!int is a whole number.
	i.ok = n.ShortTag() == "!!int" && n.Decode(&i.n) == nil
	return nil
}

// decode reads exactly one YAML document. Its shape is checked against
// rawConfig first (checkShape): unknown keys, and values of the wrong kind
// or type, go to p with their key paths, and the values are dropped so that
// the rest of the file is still decoded and validated. An error is returned
// only when the file cannot be read as YAML at all. An empty file (or one
// with only comments) is an empty configuration.
func decode(data []byte, p *problems) (*rawConfig, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return &rawConfig{}, nil
		}
		return nil, withYAMLHint(data, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, withYAMLHint(data, err)
		}
		return nil, fmt.Errorf("line %d: a second YAML document; the file must hold exactly one", extra.Line)
	}
	checkShape(p, &doc)
	// Not strict: checkShape has already reported and removed unknown keys.
	var raw rawConfig
	if err := doc.Decode(&raw); err != nil {
		// Not expected after checkShape; yaml's own message, without values.
		return nil, hideTaggedValues(err)
	}
	return &raw, nil
}

// taggedValueRE matches yaml.v3's "cannot decode !!str `<value>` as a !!int",
// which would repeat an inline secret written with a wrong tag.
var taggedValueRE = regexp.MustCompile("cannot decode (!!\\S+) `(?s:.*)` as a (!!\\S+)$")

// hideTaggedValues keeps the value out of such messages: it may be a secret.
func hideTaggedValues(err error) error {
	msg := err.Error()
	if !taggedValueRE.MatchString(msg) {
		return err
	}
	return errors.New(taggedValueRE.ReplaceAllString(msg, "cannot decode a value tagged $2 (the value is not shown: it may be a secret)"))
}

// yamlField is one key a struct accepts.
type yamlField struct {
	name   string
	typ    reflect.Type
	secret bool // its value must never appear in a message
}

// yamlFields lists the keys a struct accepts, following inlined structs.
func yamlFields(t reflect.Type) []yamlField {
	var fields []yamlField
	for f := range t.Fields() {
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		switch {
		case opts == "inline":
			fields = append(fields, yamlFields(f.Type)...)
		case name != "" && name != "-":
			fields = append(fields, yamlField{name, f.Type, f.Tag.Get("secret") == "true"})
		}
	}
	return fields
}

// yamlKeys lists the keys a struct accepts, following inlined structs.
func yamlKeys(t reflect.Type) []string {
	var keys []string
	for _, f := range yamlFields(t) {
		keys = append(keys, f.name)
	}
	return keys
}
