package config

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"

	commoncfg "github.com/prometheus/common/config"
	"go.yaml.in/yaml/v3"
)

// checkShape walks the document as the YAML shape of rawConfig, before it
// is decoded, so that every problem yaml would find while decoding is
// reported with its key path (targets.east.auth, queries[2].by) rather than
// as yaml's text, and all of them at once. Unknown keys and keys set twice
// are reported and removed; a value of the wrong kind or type (a list where
// a duration goes, "four" for a bool) is reported and replaced by null, so
// the setting takes its default and validation of the rest goes on.
// Whole numbers and durations are only checked to be scalars here:
// resolveInt and resolveDuration report bad ones with their accepted range.
func checkShape(p *problems, doc *yaml.Node) {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return
	}
	c := shapeChecker{p: p, seen: map[shapeVisit]bool{}}
	c.value("", doc.Content[0], reflect.TypeFor[rawConfig](), false)
}

type shapeChecker struct {
	p *problems
	// seen records each (node, type) checked and whether it was bad: an
	// anchored node used through several aliases is checked once, which
	// also ends an alias cycle.
	seen map[shapeVisit]bool
}

type shapeVisit struct {
	n *yaml.Node
	t reflect.Type
}

var (
	nodeType        = reflect.TypeFor[yaml.Node]()
	rawDurationType = reflect.TypeFor[rawDuration]()
	rawIntType      = reflect.TypeFor[rawInt]()
	tlsVersionType  = reflect.TypeFor[commoncfg.TLSVersion]()
	secretType      = reflect.TypeFor[commoncfg.Secret]()
)

// durationHint ends every message about a bad duration.
const durationHint = "use a number and a unit (ms, s, m, h, d, w, y), e.g. 30s or 7d"

// value checks the node in *slot against t and, if it does not fit,
// reports it at key and replaces *slot by t's zero value.
func (c *shapeChecker) value(key string, slot *yaml.Node, t reflect.Type, secret bool) {
	n := deref(slot)
	zero := zeroNode(t, slot)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n == nil || t == nodeType || isNull(n) {
		return
	}
	secret = secret || t == secretType
	v := shapeVisit{n, t}
	bad, seen := c.seen[v]
	if !seen {
		c.seen[v] = false
		if msg := c.check(key, n, t, secret); msg != "" {
			c.p.add(key, "%s (line %d)", msg, n.Line)
			c.p.undecoded = append(c.p.undecoded, key)
			bad = true
		}
		c.seen[v] = bad
	}
	if bad {
		*slot = zero
	}
}

// zeroNode is a node that decodes to the zero t. Not always null: yaml
// drops a null item from a []string, which would shift the indices of the
// items after it.
func zeroNode(t reflect.Type, at *yaml.Node) yaml.Node {
	z := yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: at.Line, Column: at.Column}
	switch t.Kind() {
	case reflect.Struct:
		z.Kind, z.Tag = yaml.MappingNode, "!!map"
	case reflect.String:
		z.Tag = "!!str"
	case reflect.Bool:
		z.Tag, z.Value = "!!bool", "false"
	}
	return z
}

// check returns what is wrong with n itself as a t ("" if nothing), and
// checks what it contains.
func (c *shapeChecker) check(key string, n *yaml.Node, t reflect.Type, secret bool) string {
	switch {
	case t == rawDurationType:
		if n.Kind != yaml.ScalarNode {
			return describe(n, false) + " is not a valid duration; " + durationHint
		}
	case t == rawIntType:
		if n.Kind != yaml.ScalarNode {
			return describe(n, false) + " is not a whole number"
		}
	case t.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			// A scalar where auth or tls_config goes may be a password or
			// a key written one level too high.
			mayBeSecret := secret || t == reflect.TypeFor[rawAuth]() || t == reflect.TypeFor[plainTLS]()
			return describe(n, mayBeSecret) + " is not a mapping; accepted keys: " + strings.Join(yamlKeys(t), ", ")
		}
		fields := yamlFields(t)
		undecoded := len(c.p.undecoded)
		c.mapping(key, n, t, func(name string, k, v *yaml.Node) bool {
			i := slices.IndexFunc(fields, func(f yamlField) bool { return f.name == name })
			if i < 0 {
				c.p.add(key, "unknown key %q; accepted: %s (line %d)", name, strings.Join(yamlKeys(t), ", "), k.Line)
				return false
			}
			c.value(join(key, name), v, fields[i].typ, fields[i].secret)
			return true
		})
		// The auth keys are judged together (exactly one method), at the
		// block's own key: with one of them dropped, that verdict would be
		// a follow-on.
		if t == reflect.TypeFor[rawAuth]() && len(c.p.undecoded) > undecoded {
			c.p.undecoded = append(c.p.undecoded, key)
		}
	case t.Kind() == reflect.Map:
		if n.Kind != yaml.MappingNode {
			return describe(n, false) + " is not a mapping"
		}
		c.mapping(key, n, t, func(name string, _, v *yaml.Node) bool {
			c.value(join(key, name), v, t.Elem(), false)
			return true
		})
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			msg := describe(n, false) + " is not a list"
			if n.Kind == yaml.ScalarNode {
				msg += "; write it as [" + n.Value + "]"
			}
			return msg
		}
		for i, e := range n.Content {
			c.value(fmt.Sprintf("%s[%d]", key, i), e, t.Elem(), false)
		}
	case n.Kind != yaml.ScalarNode || n.Decode(reflect.New(t).Interface()) != nil:
		// A TLS version outside commoncfg.TLSVersions fails here too.
		return scalarProblem(n, t, secret)
	}
	return ""
}

// scalarProblem says why n is not a t; t is a scalar type.
func scalarProblem(n *yaml.Node, t reflect.Type, secret bool) string {
	got := describe(n, secret)
	switch {
	case t == tlsVersionType:
		return got + " is not a TLS version; accepted: " + strings.Join(slices.Sorted(maps.Keys(commoncfg.TLSVersions)), ", ")
	case t.Kind() == reflect.Bool:
		return got + " is not accepted; accepted: true, false"
	case n.Kind != yaml.ScalarNode:
		return got + " is not a single value"
	case t.Kind() == reflect.String:
		// Only an explicit tag the value does not match (!!int abc) fails.
		return fmt.Sprintf("%s does not match its tag %s; remove the tag", got, n.ShortTag())
	}
	return fmt.Sprintf("%s is not a valid %s", got, t.Kind())
}

// mapping checks the keys of n, a mapping. A merge key (<<) is walked as
// more of the same mapping. A key that is not a plain name, or is set twice,
// is reported and removed; so is each pair for which each returns false.
func (c *shapeChecker) mapping(key string, n *yaml.Node, t reflect.Type, each func(name string, k, v *yaml.Node) bool) {
	lines := map[string]int{} // first line of each key
	content := n.Content      // an alias cycle may come back to n meanwhile
	kept := make([]*yaml.Node, 0, len(content))
	for i := 0; i+1 < len(content); i += 2 {
		k, v := content[i], content[i+1]
		kn := deref(k)
		var name string
		switch {
		case isMergeKey(kn):
			name = "<<"
		case kn == nil || kn.Kind != yaml.ScalarNode || kn.Decode(&name) != nil:
			c.p.add(key, "%s is not accepted as a key; keys are plain names (line %d)", describe(kn, false), k.Line)
			continue
		}
		if line, dup := lines[name]; dup {
			c.p.add(key, "key %q is set twice, at line %d and line %d", name, line, k.Line)
			continue
		}
		lines[name] = k.Line
		if name == "<<" {
			if !c.merge(key, v, t) {
				continue
			}
		} else if !each(name, k, v) {
			continue
		}
		kept = append(kept, k, v)
	}
	n.Content = kept
}

// merge checks the value of a merge key: a mapping, or a list of mappings,
// each of them more keys of the same t.
func (c *shapeChecker) merge(key string, slot *yaml.Node, t reflect.Type) bool {
	m := deref(slot)
	var mappings []*yaml.Node
	switch {
	case m == nil:
	case m.Kind == yaml.MappingNode:
		mappings = []*yaml.Node{slot}
	case m.Kind == yaml.SequenceNode:
		mappings = m.Content
	}
	for _, e := range mappings {
		if e := deref(e); e == nil || e.Kind != yaml.MappingNode {
			mappings = nil
			break
		}
	}
	if len(mappings) == 0 {
		c.p.add(key, "the value of << must be a mapping or a list of mappings (line %d)", slot.Line)
		return false
	}
	for _, e := range mappings {
		c.value(key, e, t, false)
	}
	return true
}

// describe names n for a message: a scalar by its value, quoted and in
// full, unless it may be a secret.
func describe(n *yaml.Node, secret bool) string {
	switch {
	case n == nil:
		return "an empty node"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case secret:
		return "the value (not shown: it may be a secret)"
	}
	return strconv.Quote(n.Value)
}

func deref(n *yaml.Node) *yaml.Node {
	if n != nil && n.Kind == yaml.AliasNode {
		return n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// isMergeKey is yaml.v3's own test for <<.
func isMergeKey(n *yaml.Node) bool {
	return n != nil && n.Kind == yaml.ScalarNode && n.Value == "<<" && (n.Tag == "" || n.Tag == "!" || n.ShortTag() == "!!merge")
}

func join(key, name string) string {
	if key == "" {
		return name
	}
	return key + "." + name
}
