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
	Queries *[]rawQuery          `yaml:"queries"`
	Targets map[string]rawTarget `yaml:"targets"`
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
	MaxConcurrency *int         `yaml:"max_concurrency"`
	MinInterval    *rawDuration `yaml:"min_interval"`
	Auth           rawAuth      `yaml:"auth"`
	TLSConfig      plainTLS     `yaml:"tls_config"`
	ProxyURL       string       `yaml:"proxy_url"`
}

// plainTLS has TLSConfig's fields but not its UnmarshalYAML, which calls
// Validate during decoding: that error would abort decoding without a key
// path. We call Validate ourselves. Strictness is the same either way, since
// yaml.v3 decodes both with the same decoder (see raw_test.go).
type plainTLS commoncfg.TLSConfig

// rawAuth uses plain strings: an empty value counts as unset, as proxy_url
// does, so templated files can leave keys blank.
type rawAuth struct {
	Username        string `yaml:"username"`
	Password        string `yaml:"password"`
	PasswordFile    string `yaml:"password_file"`
	APIKey          string `yaml:"api_key"`
	APIKeyFile      string `yaml:"api_key_file"`
	InternalKey     string `yaml:"internal_key"`
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
	TopCountries          *int         `yaml:"top_countries"`
}

type rawQuery struct {
	Name        string           `yaml:"name"`
	Help        string           `yaml:"help"`
	rawDefaults `yaml:",inline"` // the query's overrides
	Filters     []rawFilter      `yaml:"filters"`
	By          []string         `yaml:"by"`
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
		// A TypeError lets yaml keep its line number and go on decoding.
		return &yaml.TypeError{Errors: []string{
			fmt.Sprintf("line %d: cannot unmarshal %s into a duration", n.Line, n.ShortTag()),
		}}
	}
	d.text = n.Value
	return nil
}

// decode reads exactly one YAML document, rejecting unknown keys. An empty
// file (or one with only comments) is an empty configuration.
func decode(data []byte) (*rawConfig, error) {
	var raw rawConfig
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&raw); err != nil {
		if errors.Is(err, io.EOF) {
			return &rawConfig{}, nil
		}
		return nil, hideTaggedValues(explainUnknownKeys(err))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("line %d: a second YAML document; the file must hold exactly one", extra.Line)
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

// sections names each YAML shape the way a user knows it, for messages
// about unknown keys (yaml.v3 would name the Go type).
var sections = map[reflect.Type]string{
	reflect.TypeFor[rawConfig]():   "the top-level mapping",
	reflect.TypeFor[rawUTMStack](): "utmstack",
	reflect.TypeFor[rawTarget]():   "a target",
	reflect.TypeFor[rawAuth]():     "utmstack.auth",
	reflect.TypeFor[plainTLS]():    "utmstack.tls_config",
	reflect.TypeFor[rawDefaults](): "defaults",
	reflect.TypeFor[rawFields]():   "fields",
	reflect.TypeFor[rawQuery]():    "a query",
	reflect.TypeFor[rawFilter]():   "a filter",
}

var unknownKeyRE = regexp.MustCompile(`^(line \d+: )field (.*) not found in type (\S+)$`)

// explainUnknownKeys rewrites yaml.v3's "field x not found in type
// config.rawAuth" into the section's name and its accepted keys, keeping
// the line number; other messages naming one of our types get its section
// name too.
func explainUnknownKeys(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err
	}
	for i, msg := range te.Errors {
		m := unknownKeyRE.FindStringSubmatch(msg)
		for t, where := range sections {
			switch {
			case m != nil && t.String() == m[3]:
				te.Errors[i] = fmt.Sprintf("%sunknown key %q in %s; accepted: %s", m[1], m[2], where, strings.Join(yamlKeys(t), ", "))
			case strings.HasSuffix(msg, " into "+t.String()):
				// "cannot unmarshal !!seq into config.rawAuth"
				te.Errors[i] = strings.TrimSuffix(msg, t.String()) + where
			}
		}
	}
	return err
}

// yamlKeys lists the keys a struct accepts, following inlined structs.
func yamlKeys(t reflect.Type) []string {
	var keys []string
	for f := range t.Fields() {
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		switch {
		case opts == "inline":
			keys = append(keys, yamlKeys(f.Type)...)
		case name != "" && name != "-":
			keys = append(keys, name)
		}
	}
	return keys
}
