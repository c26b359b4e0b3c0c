package examples

import (
	"fmt"
	"go/scanner"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// promQL is one PromQL expression of the dashboard, where it is, and the
// variables ($job, $instance) its selectors need not filter by.
type promQL struct {
	where, expr string
	skip        []string
}

// checkPromQL holds expressions to the dashboard linter's PromQL rules:
// promtool (Prometheus' own parser) accepts each, every selector carries
// job=~"$job" and instance=~"$instance", rate and irate run over
// $__rate_interval, and counters appear only inside rate, irate or
// increase.
func checkPromQL(t *testing.T, exprs []promQL) {
	t.Helper()
	for _, e := range exprs {
		for _, problem := range promQLProblems(e.expr, e.skip) {
			t.Errorf("%s: %s: %s", e.where, e.expr, problem)
		}
	}
	t.Run("promtool", func(t *testing.T) {
		promtool, err := exec.LookPath("promtool")
		if err != nil {
			t.Skip("promtool is not installed (Debian package prometheus; make test installs it)")
		}
		for _, e := range promtoolRejects(t, promtool, exprs) {
			t.Errorf("%s: Prometheus' parser rejects %s", e.where, e.expr)
		}
	})
}

// promtoolRejects writes the expressions, their Grafana variables
// expanded, as recording rules and returns those promtool check rules
// rejects.
func promtoolRejects(t *testing.T, promtool string, exprs []promQL) []promQL {
	t.Helper()
	type rule struct {
		Record string `yaml:"record"`
		Expr   string `yaml:"expr"`
	}
	rules := make([]rule, len(exprs))
	for i, e := range exprs {
		rules[i] = rule{Record: fmt.Sprintf("dashboard:expression_%d", i), Expr: expand(e.expr)}
	}
	data, err := yaml.Marshal(map[string]any{"groups": []any{map[string]any{"name": "dashboard", "rules": rules}}})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "dashboard.rules.yml")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(promtool, "check", "rules", file).CombinedOutput()
	if err == nil {
		return nil
	}
	var rejected []promQL
	for i, r := range rules {
		if strings.Contains(string(out), strconv.Quote(r.Record)) {
			rejected = append(rejected, exprs[i])
		}
	}
	if len(rejected) == 0 {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	t.Logf("promtool check rules:\n%s", out)
	return rejected
}

// promQLToken is a token of an expression. PromQL's tokens are close
// enough to Go's for go/scanner to read them: identifiers, strings,
// numbers, parentheses, braces, brackets and operators (=~ comes as = and
// ~). Label lists and durations are skipped, never interpreted.
type promQLToken struct {
	tok token.Token
	lit string
}

func promQLTokens(expr string) ([]promQLToken, error) {
	var s scanner.Scanner
	var errs scanner.ErrorList
	file := token.NewFileSet().AddFile("", -1, len(expr))
	s.Init(file, []byte(expr), errs.Add, 0)
	var out []promQLToken
	for {
		_, tok, lit := s.Scan()
		switch {
		case tok == token.EOF:
			return out, errs.Err()
		case tok == token.SEMICOLON && lit == "\n":
			continue // inserted by Go's rules, not written
		case lit == "":
			lit = tok.String()
		}
		// A metric name may hold colons (a recording rule's level:metric:operations).
		if n := len(out); tok == token.IDENT && n >= 2 && out[n-1].tok == token.COLON && out[n-2].tok == token.IDENT {
			out[n-2].lit += ":" + lit
			out = out[:n-1]
			continue
		}
		out = append(out, promQLToken{tok, lit})
	}
}

var (
	promQLLabelLists = []string{"by", "without", "on", "ignoring", "group_left", "group_right"}
	promQLKeywords   = append([]string{"bool", "and", "or", "unless", "offset", "atan2"}, promQLLabelLists...)
)

// promQLProblems returns what an expression, its Grafana variables
// expanded, breaks of the linter's selector, rate and counter rules.
func promQLProblems(expr string, skip []string) []string {
	toks, err := promQLTokens(expand(expr))
	if err != nil {
		return []string{fmt.Sprintf("cannot read it: %v", err)}
	}
	at := func(i int) promQLToken {
		if i >= 0 && i < len(toks) {
			return toks[i]
		}
		return promQLToken{tok: token.EOF}
	}
	// closing returns the index of the token that closes the one at i.
	closing := func(i int, closer token.Token) int {
		for i < len(toks) && toks[i].tok != closer {
			i++
		}
		return i
	}
	var problems []string
	var calls []string // the function each open parenthesis belongs to, "" for grouping
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch {
		case t.tok == token.LPAREN:
			calls = append(calls, "")
		case t.tok == token.RPAREN:
			calls = calls[:max(len(calls)-1, 0)]
		case t.tok == token.IDENT && slices.Contains(promQLLabelLists, t.lit) && at(i+1).tok == token.LPAREN:
			i = closing(i+1, token.RPAREN)
		case t.tok == token.IDENT && t.lit == "offset":
			for at(i+1).tok == token.SUB || at(i+1).tok == token.INT || at(i+1).tok == token.IDENT && at(i).tok == token.INT {
				i++
			}
		case t.tok == token.IDENT && slices.Contains(promQLKeywords, t.lit):
		case t.tok == token.IDENT && at(i+1).tok == token.LPAREN:
			calls = append(calls, t.lit)
			i++
		case t.tok == token.IDENT && (at(i+1).lit == "by" || at(i+1).lit == "without"):
			// sum by (label) (expression): the call's parenthesis follows the label list.
			i = closing(i+2, token.RPAREN)
			if at(i+1).tok == token.LPAREN {
				calls = append(calls, t.lit)
				i++
			}
		case t.tok == token.IDENT || t.tok == token.LBRACE:
			var call string
			if direct := at(i-1).tok == token.LPAREN || at(i-1).tok == token.COMMA; direct && len(calls) > 0 {
				call = calls[len(calls)-1]
			}
			var sel selector
			sel, i = readSelector(toks, i, closing)
			problems = append(problems, sel.problems(call, skip)...)
		}
	}
	return problems
}

// selector is a vector selector, its matchers as label name to operator
// and value, and the range of a matrix selector ("" if none).
type selector struct {
	name     string
	matchers map[string][2]string
	rng      string
}

// readSelector reads the selector that starts at toks[i] and returns it
// with the index of its last token.
func readSelector(toks []promQLToken, i int, closing func(int, token.Token) int) (selector, int) {
	sel := selector{matchers: map[string][2]string{}}
	if toks[i].tok == token.IDENT {
		sel.name = toks[i].lit
		if i+1 < len(toks) && toks[i+1].tok == token.LBRACE {
			i++
		}
	}
	if toks[i].tok == token.LBRACE {
		end := closing(i, token.RBRACE)
		for j := i + 1; j < end; j++ {
			if toks[j].tok != token.IDENT {
				continue
			}
			label, op := toks[j].lit, ""
			for j+1 < end && toks[j+1].tok != token.STRING {
				j++
				op += toks[j].lit
			}
			if j+1 < end {
				j++
				value, _ := strconv.Unquote(toks[j].lit)
				sel.matchers[label] = [2]string{op, value}
			}
		}
		i = end
	}
	if i+1 < len(toks) && toks[i+1].tok == token.LBRACK {
		end := closing(i+1, token.RBRACK)
		for _, t := range toks[i+2 : end] {
			sel.rng += t.lit
		}
		i = end
	}
	return sel, i
}

// problems returns what the selector breaks; call is the function it is
// the direct argument of, if any.
func (s selector) problems(call string, skip []string) []string {
	var out []string
	for _, want := range []string{"$job", "$instance"} {
		label := strings.TrimPrefix(want, "$")
		if !slices.Contains(skip, want) && s.matchers[label] != [2]string{"=~", want} {
			out = append(out, fmt.Sprintf("the selector of %q has no %s=~%q", s.name, label, want))
		}
	}
	if (call == "rate" || call == "irate") && s.rng != "" && s.rng != rateIntervalSample {
		out = append(out, fmt.Sprintf("%s(...) over [%s]; use [$__rate_interval]", call, s.rng))
	}
	if strings.HasSuffix(s.name, "_total") && (s.rng == "" || !slices.Contains([]string{"rate", "irate", "increase"}, call)) {
		out = append(out, fmt.Sprintf("the counter %s is not inside rate, irate or increase", s.name))
	}
	return out
}

// The checks find what they are there to find.
func TestPromQLChecksFindProblems(t *testing.T) {
	const jobAndInstance = `job=~"$job", instance=~"$instance"`
	for _, tc := range []struct {
		expr string
		skip []string
		want []string
	}{
		{expr: `sum by (instance, code) (rate(x_total{` + jobAndInstance + `}[$__rate_interval]))`},
		{expr: `time() - (y{` + jobAndInstance + `} > 0) offset 5m`},
		{expr: `up{job=~"$job"}`, skip: []string{"$instance"}},
		{expr: `rate(x_total{` + jobAndInstance + `}[5m])`, want: []string{"rate(...) over [5m]; use [$__rate_interval]"}},
		{expr: `x_total{` + jobAndInstance + `}`, want: []string{"the counter x_total is not inside rate, irate or increase"}},
		{expr: `sum(up{job=~"$job"})`, want: []string{`the selector of "up" has no instance=~"$instance"`}},
		{expr: `up{` + jobAndInstance + `} / on (job) group_left level:metric:sum`, want: []string{
			`the selector of "level:metric:sum" has no job=~"$job"`, `the selector of "level:metric:sum" has no instance=~"$instance"`}},
		{expr: `sum without (a) ({job="$job", instance=~"$instance"})`, want: []string{`the selector of "" has no job=~"$job"`}},
	} {
		if got := promQLProblems(tc.expr, tc.skip); !slices.Equal(got, tc.want) {
			t.Errorf("%s: problems %q, want %q", tc.expr, got, tc.want)
		}
	}

	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not installed (Debian package prometheus; make test installs it)")
	}
	good := promQL{where: "good", expr: `sum by (job) (rate(x_total{job=~"$job"}[$__rate_interval]))`}
	bad := promQL{where: "bad", expr: `sum by (job) (rate(x_total{job=~"$job"}[$__rate_interval])`}
	if got := promtoolRejects(t, promtool, []promQL{good, bad, good}); len(got) != 1 || got[0].where != "bad" {
		t.Errorf("promtool rejected %v, want only the unbalanced expression", got)
	}
}
