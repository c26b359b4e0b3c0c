package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	commoncfg "github.com/prometheus/common/config"
	"go.yaml.in/yaml/v3"

	"github.com/utmstack/utmstack_exporter/utmstack"
)

// The raw* types mirror the file. Optional settings are pointers, or nodes
// for numbers and durations (kept as written, for validation to judge with
// their key path), so that an absent setting differs from a zero one.
type rawConfig struct {
	UTMStack   rawUTMStack             `yaml:"utmstack"`
	Defaults   rawDefaults             `yaml:"defaults"`
	Queries    *[]rawQuery             `yaml:"queries"` // nil: the built-in set
	Breakdowns map[string]rawBreakdown `yaml:"breakdowns"`
	Incidents  *bool                   `yaml:"incidents"`
	Targets    map[string]rawTarget    `yaml:"targets"`
	Coverage   rawCoverage             `yaml:"coverage"`
}

type rawBreakdown struct {
	Field string    `yaml:"field"`
	Top   yaml.Node `yaml:"top"`
}

type rawTarget struct {
	rawUTMStack `yaml:",inline"`
	Queries     *[]rawQuery `yaml:"queries"`
}

type rawUTMStack struct {
	URL            string    `yaml:"url"`
	Timeout        yaml.Node `yaml:"timeout"`
	MaxConcurrency yaml.Node `yaml:"max_concurrency"`
	MinInterval    yaml.Node `yaml:"min_interval"`
	Auth           rawAuth   `yaml:"auth"`
	TLSConfig      plainTLS  `yaml:"tls_config"`
	ProxyURL       string    `yaml:"proxy_url"`
}

// rawAuth uses plain strings: an empty value counts as unset, so templated
// files can leave keys blank.
type rawAuth struct {
	Username        string `yaml:"username"`
	Password        string `yaml:"password"`
	PasswordFile    string `yaml:"password_file"`
	APIKey          string `yaml:"api_key"`
	APIKeyFile      string `yaml:"api_key_file"`
	InternalKey     string `yaml:"internal_key"`
	InternalKeyFile string `yaml:"internal_key_file"`
}

// plainTLS is commoncfg.TLSConfig without its UnmarshalYAML, which would
// validate it while decoding and end the decode without a key path.
type plainTLS commoncfg.TLSConfig

type rawFields struct {
	Severity *string `yaml:"severity"`
	Status   *string `yaml:"status"`
	Country  *string `yaml:"country"`
}

// rawDefaults is the `defaults` section and, inlined, a query's overrides.
type rawDefaults struct {
	IndexPattern          *string   `yaml:"index_pattern"`
	Window                yaml.Node `yaml:"window"`
	WindowRounding        yaml.Node `yaml:"window_rounding"`
	ExcludeFalsePositives *bool     `yaml:"exclude_false_positives"`
	ExcludeEchoes         *bool     `yaml:"exclude_echoes"`
	Fields                rawFields `yaml:"fields"`
	TopCountries          yaml.Node `yaml:"top_countries"`
}

type rawQuery struct {
	Name        string `yaml:"name"`
	Help        string `yaml:"help"`
	rawDefaults `yaml:",inline"`
	Filters     []rawFilter `yaml:"filters"`
	By          []string    `yaml:"by"`
	Ages        []string    `yaml:"ages"`
}

// rawFilter keeps the value as a node: yaml would turn an unquoted date
// into a time.Time, but filters go to UTMStack as written.
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
	return out, v.Decode(&out.Value)
}

func timestampsAsStrings(n *yaml.Node) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!timestamp" {
		n.Tag = "!!str"
	}
	for _, c := range n.Content {
		timestampsAsStrings(c)
	}
}

// decode reads exactly one YAML document into rawConfig, strictly: yaml
// reports every unknown key, key set twice and value of the wrong type,
// each with its line, and decodes the rest. Each goes to p at its key path.
// An error means the file cannot be read as YAML at all. An empty file is
// an empty configuration.
func decode(data []byte, p *problems) (*rawConfig, error) {
	if len(data) > maxFileBytes {
		return nil, fmt.Errorf("%d bytes, larger than %d, the limit", len(data), maxFileBytes)
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); errors.Is(err, io.EOF) || err == nil && len(doc.Content) == 0 {
		return &rawConfig{}, nil
	} else if err != nil {
		return nil, withYAMLHint(data, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, fmt.Errorf("line %d: a second YAML document; the file must hold exactly one", extra.Line)
	} else if !errors.Is(err, io.EOF) {
		return nil, withYAMLHint(data, err)
	}
	// A few kilobytes of aliases can stand for millions of queries.
	if expandedSize(&doc, map[*yaml.Node]int{}) > maxValues {
		return nil, fmt.Errorf("more than %d values once its aliases are expanded, the limit", maxValues)
	}
	at := places{}
	at.add(place{value: doc.Content[0]})
	if at.walk("", doc.Content[0], p) {
		p.undecoded = append(p.undecoded, "") // the rest would be follow-ons
		return &rawConfig{}, nil
	}
	var raw rawConfig
	strict := yaml.NewDecoder(bytes.NewReader(data))
	strict.KnownFields(true)
	var te *yaml.TypeError
	if err := strict.Decode(&raw); errors.As(err, &te) {
		for _, e := range te.Errors {
			at.report(p, e)
		}
	} else if err != nil {
		return nil, err // an alias yaml refuses; never a value
	}
	return &raw, nil
}

// expandedSize counts the nodes decoding n visits, aliases expanded.
func expandedSize(n *yaml.Node, memo map[*yaml.Node]int) int {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if s, seen := memo[n]; seen {
		return s // or 0 in a cycle, which yaml refuses
	}
	memo[n] = 0
	s := 1
	for _, c := range n.Content {
		s = min(s+expandedSize(c, memo), maxValues+1)
	}
	memo[n] = s
	return s
}

// place is a key or list item, found by the line yaml's messages name.
type place struct {
	parent, path string     // key paths of its mapping or list, and its own
	key          *yaml.Node // nil for a list item
	value        *yaml.Node
}

type places map[int][]place

func (ps places) add(pl place) {
	if pl.key != nil {
		ps[pl.key.Line] = append(ps[pl.key.Line], pl)
	}
	if pl.key == nil || pl.value.Line != pl.key.Line {
		ps[pl.value.Line] = append(ps[pl.value.Line], pl)
	}
}

// walk records the places under n at path, and reports the values yaml's
// decoding would stop at, without a line and repeating them: a scalar that
// does not match its explicit tag (!!int abc), and a bad TLS version.
func (ps places) walk(path string, n *yaml.Node, p *problems) (stops bool) {
	switch n.Kind {
	case yaml.ScalarNode:
		_, known := commoncfg.TLSVersions[n.Value]
		version := strings.HasSuffix(path, "tls_config.min_version") || strings.HasSuffix(path, "tls_config.max_version")
		switch {
		case n.Style&yaml.TaggedStyle != 0 && n.Decode(new(any)) != nil:
			p.add(path, "%s does not match its tag %s; remove the tag (line %d)", describe(path, n), n.ShortTag(), n.Line)
		case version && !known:
			p.add(path, "%q is not a TLS version; accepted: %s (line %d)", n.Value, strings.Join(slices.Sorted(maps.Keys(commoncfg.TLSVersions)), ", "), n.Line)
		default:
			return false
		}
		return true
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "<<" { // merged keys belong to this mapping
				items := []*yaml.Node{v}
				if v.Kind == yaml.SequenceNode {
					items = v.Content
				}
				for _, m := range items {
					stops = ps.walk(path, m, p) || stops
				}
				continue
			}
			at := joinKey(path, k.Value)
			ps.add(place{parent: path, path: at, key: k, value: v})
			stops = ps.walk(at, v, p) || stops
		}
	case yaml.SequenceNode:
		for i, v := range n.Content {
			at := fmt.Sprintf("%s[%d]", path, i)
			ps.add(place{parent: path, path: at, value: v})
			stops = ps.walk(at, v, p) || stops
		}
	}
	return stops
}

var (
	unknownKeyRE = regexp.MustCompile(`^line (\d+): field (.*) not found in type (\S+)$`)
	setTwiceRE   = regexp.MustCompile(`^line (\d+): mapping key (".*") already defined at line (\d+)$`)
	wrongTypeRE  = regexp.MustCompile("^line (\\d+): cannot unmarshal (!!\\w+(?: `.*`)?) into (\\S+)$")
)

// report turns one of yaml's type errors into a problem at its key path,
// and marks what yaml left undecoded.
func (ps places) report(p *problems, msg string) {
	if m := unknownKeyRE.FindStringSubmatch(msg); m != nil {
		pl := ps.find(m[1], func(pl place) bool { return pl.key != nil && pl.key.Value == m[2] })
		p.add(pl.parent, "unknown key %q; accepted: %s (line %s)", m[2], acceptedKeys[m[3]], m[1])
		if strings.HasSuffix(pl.parent, "auth") { // judged together: exactly one method
			p.undecoded = append(p.undecoded, pl.parent)
		}
	} else if m := setTwiceRE.FindStringSubmatch(msg); m != nil {
		name, _ := strconv.Unquote(m[2])
		pl := ps.find(m[1], func(pl place) bool { return pl.key != nil && pl.key.Value == name })
		p.add(pl.parent, "key %q is set twice, at line %s and line %s", name, m[3], m[1])
		p.undecoded = append(p.undecoded, pl.parent) // yaml decodes none of the mapping
	} else if m := wrongTypeRE.FindStringSubmatch(msg); m != nil {
		pl := ps.find(m[1], func(pl place) bool { return yamlShows(pl.value) == m[2] })
		p.add(pl.path, "%s (line %s)", wrongType(pl, m[3]), m[1])
		if strings.HasSuffix(pl.path, "]") {
			pl.path = pl.parent // yaml drops the item: the next ones shift
		}
		p.undecoded = append(p.undecoded, pl.path)
	} else {
		p.add("", "%s", msg)
	}
}

// find returns the place at line that fits, else any at that line.
func (ps places) find(line string, fits func(place) bool) place {
	n, _ := strconv.Atoi(line)
	if i := slices.IndexFunc(ps[n], fits); i >= 0 {
		return ps[n][i]
	} else if len(ps[n]) > 0 {
		return ps[n][0]
	}
	return place{value: &yaml.Node{}}
}

// yamlShows is how yaml's messages show a value.
func yamlShows(n *yaml.Node) string {
	if v := n.Value; n.Kind != yaml.ScalarNode {
		return n.ShortTag()
	} else if len(v) > 10 {
		return n.ShortTag() + " `" + v[:7] + "...`"
	}
	return n.ShortTag() + " `" + n.Value + "`"
}

// wrongType says what the value at pl is not; into is the Go type yaml
// names.
func wrongType(pl place, into string) string {
	got := describe(pl.path, pl.value)
	switch {
	case into == "bool":
		return got + " is not accepted; accepted: true, false"
	case strings.HasPrefix(into, "[]") && pl.value.Kind == yaml.ScalarNode:
		return got + " is not a list; write it as [" + cut(pl.value.Value) + "]"
	case strings.HasPrefix(into, "[]"):
		return got + " is not a list"
	case acceptedKeys[into] != "":
		return got + " is not a mapping; accepted keys: " + acceptedKeys[into]
	case strings.HasPrefix(into, "map["):
		return got + " is not a mapping"
	}
	return got + " is not a single value"
}

// secretKeys hold a secret, or (auth, tls_config) the block where a
// misplaced one may stand.
var secretKeys = []string{"password", "api_key", "internal_key", "key", "auth", "tls_config"}

// describe names the value at path for a message: a scalar by its value,
// unless it may be a secret.
func describe(path string, n *yaml.Node) string {
	switch {
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case slices.Contains(secretKeys, path[strings.LastIndex(path, ".")+1:]):
		return "the value (not shown: it may be a secret)"
	}
	return strconv.Quote(cut(n.Value))
}

// acceptedKeys lists the keys of each raw mapping, by yaml's name for it.
var acceptedKeys = func() map[string]string {
	m := map[string]string{}
	for _, v := range []any{rawConfig{}, rawUTMStack{}, rawTarget{}, rawAuth{}, plainTLS{}, rawDefaults{},
		rawFields{}, rawQuery{}, rawFilter{}, rawBreakdown{}, rawCoverage{}} {
		m[reflect.TypeOf(v).String()] = strings.Join(yamlKeys(reflect.TypeOf(v)), ", ")
	}
	return m
}()

// yamlKeys lists the keys a struct accepts, inlined structs' included.
func yamlKeys(t reflect.Type) []string {
	var keys []string
	for f := range t.Fields() {
		if name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ","); opts == "inline" {
			keys = append(keys, yamlKeys(f.Type)...)
		} else if name != "" {
			keys = append(keys, name)
		}
	}
	return keys
}

func joinKey(path, name string) string {
	if path == "" {
		return cut(name)
	}
	return path + "." + cut(name)
}

func isNull(n *yaml.Node) bool {
	return n.Kind == 0 || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}
